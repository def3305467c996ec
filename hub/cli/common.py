"""What every command shares: its hub context, turning HubErrors into one line, exit codes."""

from __future__ import annotations

import functools
import logging
import os
import shutil
import sys
from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.markup import escape

from hub.cli.render import err_console
from hub.context import HubContext, from_environment
from hub.errors import ConfigError, HubError
from hub.pipeline.info import RunStatus
from hub.store.locks import ConnectionBusyError

__all__ = [
    "handle_errors",
    "hub_context",
    "invoked_as",
    "start_invocation",
    "EXIT_FOR_STATUS",
    "EXIT_BUSY",
]

F = TypeVar("F", bound=Callable[..., Any])

# Exit codes: 0 ok, 1 run failed, 2 bad config or input, 3 run partial, 4 busy (another run
# holds the connection; nothing was recorded). A run never ends `abandoned` itself.
EXIT_FOR_STATUS: dict[RunStatus, int] = {"succeeded": 0, "failed": 1, "partial": 3, "abandoned": 1}
EXIT_BUSY = 4


# Set by the root callback for the command being run (a test runs many in one thread).
_invocation: ContextVar[HubContext | None] = ContextVar("crossdock_cli_context", default=None)


def start_invocation(workspace: Path | None) -> None:
    _invocation.set(from_environment(workspace))


def hub_context() -> HubContext:
    """The command's context, built once from `--workspace` by the root callback; a folder
    without crossdock.yaml is refused (ConfigError) before the store or key is made there."""
    ctx = _invocation.get()
    if ctx is None:  # a command function called without the app (its own test)
        ctx = from_environment()
        _invocation.set(ctx)
    ctx.require_workspace()
    return ctx


def invoked_as() -> str:
    """The command to print in hints, as the user can paste it: `.venv/bin/crossdock` when
    that is how crossdock was run and no `crossdock` on PATH is the same program."""
    program = sys.argv[0] if sys.argv else ""
    if os.path.basename(program) != "crossdock":  # python -m hub.cli, a test runner
        return "crossdock"
    on_path = shutil.which("crossdock")
    if on_path and os.path.realpath(on_path) == os.path.realpath(program):
        return "crossdock"
    return program


def _say_error(label: str, message: str, colour: str = "red") -> None:
    from hub.logs import json_logs

    if json_logs():  # --log-format json: stderr holds JSON lines only
        logging.getLogger("crossdock.cli").error("%s: %s", label, message)
    else:
        err_console.print(f"[{colour}]{label}:[/] {escape(message)}", soft_wrap=True)


def handle_errors(fn: F) -> F:
    """A HubError is a message for the user, not a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ConfigError as exc:
            _say_error("config error", str(exc))
            raise typer.Exit(2) from None
        except ConnectionBusyError as exc:
            _say_error("busy", str(exc), "yellow")
            raise typer.Exit(EXIT_BUSY) from None
        except HubError as exc:
            _say_error("error", str(exc))
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]
