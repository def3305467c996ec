"""Prefect flows and deployments: thin shells over hub/ (sync, stitch, deployments)."""

import hub.no_call_home  # noqa: F401 - before any flow runs: no analytics leave the machine
