"""`crossdock status`: per connection, what an operator needs to know at a glance.

The last run and its status, how late the connection is against its cron `schedule`, the
records the last run moved and dead-lettered, the problem runs of the recent window, and an
exit code a monitor can alert on (docs/operations.md), and the volume anomalies of each
stream's newest run (hub/monitoring; docs/reconciliation.md "Anomalies").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from hub.cli.common import handle_errors, hub_context
from hub.cli.render import console, print_json
from hub.store.models import SyncRun

if TYPE_CHECKING:
    from hub.monitoring import Anomaly

__all__ = ["status", "ConnectionStatus", "connection_status", "EXIT_ATTENTION", "PROBLEM_STATUSES"]

# 0: nothing needs a person. 5: at least one connection does (its last run failed, was partial
# or abandoned, or it is late, or a stream's volume left its band). Distinct from 1 (the
# command itself failed: the store cannot open) and 2 (bad workspace), so a monitor can tell
# "look at the syncs" from "look at the host".
EXIT_ATTENTION = 5
PROBLEM_STATUSES = ("failed", "partial", "abandoned")


def _utc(value: datetime) -> datetime:
    # SQLite hands datetimes back naive; the store writes them in UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass
class ConnectionStatus:
    connection: str
    schedule: str | None
    last_run_id: str | None = None
    last_status: str | None = None  # None: never run
    last_started_at: str | None = None
    last_ended_at: str | None = None
    records_read: int = 0
    records_written: int = 0
    dead_letters: int = 0  # of the last run
    last_error: str | None = None
    last_success_at: str | None = None  # when the newest succeeded run ended
    due_at: str | None = None  # the newest scheduled time before now - grace (scheduled only)
    late: bool = False
    late_seconds: float | None = None  # since due_at, when late
    recent: dict[str, int] = field(default_factory=dict)  # status -> runs in the window
    anomalies: list[dict[str, Any]] = field(default_factory=list)  # of each stream's newest run
    reconciled: dict[str, Any] | None = None  # the newest reconcile (hub/reconcile/store.py)
    attention: list[str] = field(default_factory=list)  # why a person should look; empty: fine

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def connection_status(
    name: str,
    schedule: str | None,
    last: SyncRun | None,
    last_success: SyncRun | None,
    recent: dict[str, int],
    now: datetime,
    grace: timedelta,
    anomalies: Sequence[Anomaly] = (),
    reconciled: dict[str, Any] | None = None,
) -> ConnectionStatus:
    """The status of one connection from its runs; pure, so `now` is the caller's.

    Late: the schedule fired at `due` (its newest time before now - grace) and no run has
    started since. A connection with no schedule is never late; one never run is not late
    either (its deployment may not exist yet) but says `never run`."""
    st = ConnectionStatus(connection=name, schedule=schedule, recent=dict(recent))
    if last_success is not None and last_success.ended_at is not None:
        st.last_success_at = _utc(last_success.ended_at).isoformat()
    if last is not None:
        st.last_run_id, st.last_status = last.id, last.status
        st.last_started_at = _utc(last.started_at).isoformat()
        st.last_ended_at = _utc(last.ended_at).isoformat() if last.ended_at else None
        st.records_read, st.records_written = last.records_read, last.records_written
        st.dead_letters, st.last_error = last.records_dead_lettered, last.error
        if last.status in PROBLEM_STATUSES:
            st.attention.append(f"last run {last.status}")
    if schedule and last is not None:
        from croniter import croniter

        due = croniter(schedule, now - grace).get_prev(datetime)
        due = _utc(due)
        st.due_at = due.isoformat()
        if _utc(last.started_at) < due:
            st.late, st.late_seconds = True, (now - due).total_seconds()
            st.attention.append(f"late: no run since {due:%Y-%m-%d %H:%M} UTC")
    for anomaly in anomalies:
        st.anomalies.append(anomaly.to_dict())
        st.attention.append(f"anomaly: {anomaly.describe()}")
    st.reconciled = reconciled
    if reconciled is not None and reconciled["status"] != "clean":
        st.attention.append(
            f"last reconcile {reconciled['status']}: {reconciled['differences']:,} difference(s); "
            f"`crossdock reconcile {name} --repair`"
        )
    return st


@handle_errors
def status(
    connection: Annotated[str | None, typer.Option("--connection", "-c", help="only this connection")] = None,
    grace: Annotated[
        float,
        typer.Option(
            "--grace", metavar="MINUTES", help="how long after its scheduled time a run may start", min=0
        ),
    ] = 15.0,
    window: Annotated[
        float, typer.Option("--window", metavar="HOURS", help="count problem runs this far back", min=0)
    ] = 24.0,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable, for monitors")] = False,
) -> None:
    """Each connection's last run, status, lateness against its schedule, records moved and
    dead letters, volume anomalies and the last reconcile; exits 5 when a connection needs a
    person (failed, partial, abandoned, late, anomalous, or not equal to its source), 0 otherwise."""
    from hub.monitoring import latest_anomalies
    from hub.pipeline.run import reap_abandoned
    from hub.reconcile.store import last_check
    from hub.store import runs as store_runs

    ctx = hub_context()
    workspace = ctx.workspace()
    names = [workspace.connection(connection).name] if connection else sorted(workspace.connections)
    reap_abandoned(ctx, connection)  # a run whose process died is shown abandoned, as `runs` does
    now = datetime.now(UTC)
    since = now - timedelta(hours=window)
    rows = [
        connection_status(
            name,
            workspace.connections[name].schedule,
            store_runs.latest_run(ctx.engine, name),
            store_runs.latest_run(ctx.engine, name, "succeeded"),
            store_runs.count_runs_by_status(ctx.engine, name, since),
            now,
            timedelta(minutes=grace),
            latest_anomalies(ctx, name, workspace.monitoring, now),
            last_check(ctx.engine, name),
        )
        for name in names
    ]
    needs = [r.connection for r in rows if r.attention]
    if as_json:
        print_json(
            {
                "checked_at": now.isoformat(),
                "grace_minutes": grace,
                "window_hours": window,
                "needs_attention": needs,
                "connections": [r.to_dict() for r in rows],
            }
        )
    else:
        _print(rows, window)
    raise typer.Exit(EXIT_ATTENTION if needs else 0)


_STYLE = {
    "succeeded": "green",
    "partial": "yellow",
    "failed": "red",
    "running": "cyan",
    "abandoned": "magenta",
}


def _age(iso: str | None, now: datetime) -> str:
    if iso is None:
        return ""
    seconds = (now - datetime.fromisoformat(iso)).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit} ago"
    return f"{seconds:.0f}s ago"


def _reconciled(check: dict[str, Any] | None, now: datetime) -> str:
    if check is None:
        return ""
    style = {"clean": "green", "differences": "yellow"}.get(check["status"], "red")
    label = check["status"] if check["status"] != "differences" else f"{check['differences']:,} diffs"
    return f"[{style}]{label}[/] {_age(check['checked_at'], now)}"


def _print(rows: list[ConnectionStatus], window: float) -> None:
    now = datetime.now(UTC)
    table = Table()
    for col in (
        "connection",
        "last run",
        "status",
        "started",
        "last success",
        "schedule",
        "read",
        "written",
        "dead",
        f"problems {window:g}h",
        "anomalies",
        "reconciled",
    ):
        table.add_column(col, justify="right" if col in ("read", "written", "dead") else "left")
    for r in rows:
        status = r.last_status or "never run"
        problems = ", ".join(f"{r.recent[s]} {s}" for s in PROBLEM_STATUSES if r.recent.get(s))
        when = r.schedule or "on demand"
        if r.late and r.late_seconds is not None:
            when += f" [red]late {r.late_seconds / 60:.0f}m[/]"
        table.add_row(
            r.connection,
            r.last_run_id or "",
            f"[{_STYLE.get(status, 'white')}]{status}[/]",
            _age(r.last_started_at, now),
            _age(r.last_success_at, now) or ("never" if r.last_status else ""),
            when,
            f"{r.records_read:,}",
            f"{r.records_written:,}",
            f"{r.dead_letters:,}",
            problems,
            f"[red]{len(r.anomalies)}[/]" if r.anomalies else "",
            _reconciled(r.reconciled, now),
        )
    console.print(table)
    needs = [r for r in rows if r.attention]
    for r in needs:
        console.print(
            f"[red]needs attention:[/] {r.connection}: {escape('; '.join(r.attention))}", soft_wrap=True
        )
        if r.last_error and r.last_status in PROBLEM_STATUSES:
            console.print(f"  {escape(r.last_error)}", soft_wrap=True)
    if not needs:
        console.print("[green]ok[/]: nothing needs attention")
