"""`crossdock`: the command line. Each command is a thin shell over hub/ and flows/."""

from __future__ import annotations

import os
import sys

# Prefect reads its settings at import: keep its console chatter to warnings
# unless the user asked for more (the flow-run logs still reach the server).
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "crossdock")
# `check` and `discover` log outside any flow run; that is not worth a warning.
os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")
import hub.no_call_home  # noqa: F401 - no analytics leave the machine
from hub.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
