"""The hub contacts no host its workspace does not name: Prefect's usage analytics
(server side, and the SDK's own events since Prefect 3.8) are switched off.

Prefect reads these when its server starts (the ephemeral one is a child process that
inherits the environment) and, for the SDK events, at each event; so setting them before
any flow runs is enough, whether Prefect was imported first or not. Imported by
`flows` (a worker, a bench script, a user's own script) and by the CLI.
"""

from __future__ import annotations

import os

__all__ = ["disable_prefect_analytics"]


def disable_prefect_analytics() -> None:
    # Forced, not defaulted: an inherited `true` must not make the hub phone home.
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    os.environ["DO_NOT_TRACK"] = "1"  # the SDK's client-side opt-out


disable_prefect_analytics()
