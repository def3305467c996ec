"""`crossdock state show|reset|set`: a stream's saved source state (its incremental cursor).

Resetting makes the stream's next sync read from its start date; setting replaces the state
with a JSON object (to re-read from a date, say). Both hold the connection's lease, so they
never race a sync (a running one makes them exit 4), and both are audited with the stream and
the state's hash, never its content: a state may hold values from the source.
"""

from __future__ import annotations

import hashlib
import json
import sys
from typing import Annotated, Any

import typer
from rich.markup import escape

from hub.cli.common import handle_errors, hub_context
from hub.cli.render import console, print_json
from hub.context import HubContext
from hub.errors import ConfigError

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True)


def _streams(ctx: HubContext, connection: str, stream: str | None) -> list[str]:
    conn = ctx.workspace().connection(connection)  # an unknown name lists the known ones
    if stream is None:
        return list(conn.streams)
    if stream not in conn.streams:
        raise ConfigError(
            f"connection `{connection}` has no stream `{stream}`; its streams: {', '.join(conn.streams)}",
            file=str(ctx.workspace_file),
            key=f"connections.{connection}.streams",
        )
    return [stream]


def _saved(ctx: HubContext, connection: str, stream: str) -> dict[str, Any] | None:
    from hub.store import runs

    row = runs.load_state(ctx.engine, connection, stream)
    return row.state if row else None


def _digest(state: dict[str, Any] | None) -> str | None:
    if state is None:
        return None
    return hashlib.sha256(json.dumps(state, sort_keys=True, default=str).encode()).hexdigest()[:16]


@app.command("show")
@handle_errors
def show(
    connection: str,
    stream: Annotated[str | None, typer.Argument(help="one stream (default: every stream)")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The saved state of the connection's streams (none: the next sync reads from the start)."""
    from hub.store import runs

    ctx = hub_context()
    rows: list[dict[str, Any]] = []
    for name in _streams(ctx, connection, stream):
        saved = runs.state_updated(ctx.engine, connection, name)
        rows.append(
            {
                "stream": name,
                "state": _saved(ctx, connection, name),
                "updated_at": saved[0].isoformat() if saved else None,
                "written_by": saved[1] if saved else None,
            }
        )
    if as_json:
        print_json(rows)
        return
    for row in rows:
        if row["state"] is None:
            console.print(f"[bold]{row['stream']}[/]: no saved state (the next sync reads from the start)")
            continue
        when, by = str(row["updated_at"])[:19], escape(str(row["written_by"]))
        console.print(f"[bold]{row['stream']}[/]: saved {when} by {by}")
        console.print(escape(json.dumps(row["state"], indent=2, default=str)), soft_wrap=True)


@app.command("reset")
@handle_errors
def reset(
    connection: str,
    stream: Annotated[str | None, typer.Argument(help="one stream (default: every stream)")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")] = False,
) -> None:
    """Forget the saved state: the stream's next sync reads everything from its start date."""
    from hub.pipeline.run import new_run_id
    from hub.store import locks, runs

    ctx = hub_context()
    names = _streams(ctx, connection, stream)
    if not yes:
        typer.confirm(
            f"reset the state of {connection}: {', '.join(names)}? their next sync reads everything",
            abort=True,
        )
    with locks.hold(ctx.engine, connection, f"state-reset-{new_run_id()}"):
        for name in names:
            before = _saved(ctx, connection, name)
            if before is None:
                console.print(f"{name}: no saved state, nothing to reset")
                continue
            runs.clear_state(ctx.engine, connection, name)
            ctx.audit.append(
                "state.reset",
                actor="cli",
                target=f"{connection}/{name}",
                details={"old_sha256": _digest(before)},
            )
            console.print(f"{name}: state reset; the next sync reads from the start")


@app.command("set")
@handle_errors
def set_state(
    connection: str,
    stream: str,
    value: Annotated[
        str | None, typer.Argument(help="the state as a JSON object (default: read from stdin)")
    ] = None,
) -> None:
    """Replace the stream's saved state with a JSON object (its next sync resumes from it)."""
    from hub.pipeline.run import new_run_id
    from hub.store import locks, runs

    ctx = hub_context()
    (name,) = _streams(ctx, connection, stream)
    text = value if value is not None else sys.stdin.read()
    try:
        state = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"the state is not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None
    if not isinstance(state, dict):
        raise ConfigError(
            f"the state must be a JSON object ({{...}}), not {type(state).__name__}; "
            f"`crossdock state show {connection} {name}` shows its current shape"
        )
    marker = f"state-set-{new_run_id()}"
    with locks.hold(ctx.engine, connection, marker):
        before = _saved(ctx, connection, name)
        runs.save_state(ctx.engine, connection, name, state, marker)
        ctx.audit.append(
            "state.set",
            actor="cli",
            target=f"{connection}/{name}",
            details={"old_sha256": _digest(before), "new_sha256": _digest(state), "by": marker},
        )
    console.print(f"{name}: state set; the next sync of `{connection}` resumes from it")
