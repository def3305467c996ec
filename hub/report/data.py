"""What the report shows, from the store's run history: each connection's runs over the window.

Write-back results are counted per run from the per-record results (hub/writeback/state.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from hub.context import HubContext
from hub.store.history import runs_since
from hub.store.models import SyncRun

__all__ = ["RunPoint", "ConnectionHistory", "Report", "build_report"]


def _utc(value: datetime) -> datetime:
    # SQLite hands datetimes back naive; the store writes them in UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass
class RunPoint:
    run_id: str
    started_at: datetime
    status: str
    seconds: float | None  # None: still running (or abandoned without an end)
    read: int
    written: int
    dead_letters: int
    accepted: int = 0  # write-back results
    rejected: int = 0


@dataclass
class ConnectionHistory:
    name: str
    schedule: str | None
    destination: str  # `sql`, or the write-back connector
    in_workspace: bool = True
    runs: list[RunPoint] = field(default_factory=list)

    @property
    def writes_back(self) -> bool:
        return self.destination != "sql"

    def count(self, status: str) -> int:
        return sum(1 for r in self.runs if r.status == status)


@dataclass
class Report:
    generated_at: datetime
    since: datetime
    days: float
    connections: list[ConnectionHistory]


def _writeback_counts(ctx: HubContext, run_ids: list[str]) -> dict[tuple[str, str], int]:
    from hub.writeback.state import WritebackResult

    counts: dict[tuple[str, str], int] = {}
    with Session(ctx.engine) as session:
        for i in range(0, len(run_ids), 500):
            rows = session.exec(
                select(WritebackResult.run_id, WritebackResult.status, func.count())
                .where(col(WritebackResult.run_id).in_(run_ids[i : i + 500]))
                .group_by(col(WritebackResult.run_id), col(WritebackResult.status))
            ).all()
            counts.update({(run_id, status): n for run_id, status, n in rows})
    return counts


def _point(run: SyncRun, wb: dict[tuple[str, str], int]) -> RunPoint:
    started = _utc(run.started_at)
    seconds = (_utc(run.ended_at) - started).total_seconds() if run.ended_at else None
    return RunPoint(
        run_id=run.id,
        started_at=started,
        status=run.status,
        seconds=seconds,
        read=run.records_read,
        written=run.records_written,
        dead_letters=run.records_dead_lettered,
        accepted=wb.get((run.id, "accepted"), 0),
        rejected=wb.get((run.id, "rejected"), 0),
    )


def build_report(ctx: HubContext, days: float, now: datetime | None = None) -> Report:
    """Every connection of crossdock.yaml (and any the history names that it no longer has),
    with its runs started in the last `days` days, oldest first."""
    now = now or datetime.now(UTC)
    since = now - timedelta(days=days)
    workspace = ctx.workspace()
    history = runs_since(ctx.engine, since)
    wb = _writeback_counts(ctx, [r.id for r in history])
    conns = {
        name: ConnectionHistory(name, conn.schedule, conn.destination.type)
        for name, conn in sorted(workspace.connections.items())
    }
    for run in history:
        if run.connection not in conns:  # removed from crossdock.yaml since: still shown
            conns[run.connection] = ConnectionHistory(run.connection, None, "sql", in_workspace=False)
        conns[run.connection].runs.append(_point(run, wb))
    for conn in conns.values():
        if any(p.accepted or p.rejected for p in conn.runs) and conn.destination == "sql":
            conn.destination = "write-back"  # a removed connection that wrote back
    return Report(generated_at=now, since=since, days=days, connections=list(conns.values()))
