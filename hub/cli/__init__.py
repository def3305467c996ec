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
# Prefect's temporary server gets 20 s to start by default; a busy 2-core machine needs more.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
import hub.no_call_home  # noqa: F401 - no analytics leave the machine
from hub.cli import prefect_server

# `crossdock sync` (stitch, demo): Prefect's temporary server starts now, before the imports
# below, in its own process (hub/cli/prefect_server.py; nothing happens when imported otherwise).
prefect_server.start_for_command_line(sys.argv)
from hub.cli.app import app  # noqa: E402 - after the server's start

__all__ = ["app", "main"]

STARTUP_SETTING = "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"


def main() -> None:
    prefect_server.enable()  # `sync` and `stitch` start Prefect's temporary server early
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    except RuntimeError as exc:
        if "ephemeral Prefect API server" not in str(exc):
            raise
        print(
            f"error: Prefect's temporary server did not start within {os.environ[STARTUP_SETTING]} s "
            f"({STARTUP_SETTING} sets this); to skip its start-up on every command, run "
            "`prefect server start` once and export PREFECT_API_URL=http://127.0.0.1:4200/api",
            file=sys.stderr,
        )
        sys.exit(1)
    finally:
        prefect_server.enable(False)  # main() called in-process (a test) leaves no trace
