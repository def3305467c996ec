"""Reconcile reports kept in the hub's store, one row per stream per check, with history.

Created with every feature's tables (hub/store/schema.py `STORE_TABLE_MODULES`); a change to
them needs a revision in hub/store/migrations/versions/.
Sample keys are source ids (what ops need to look a record up); no field value is stored.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, Text
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, col, select

from hub.reconcile.report import StreamReport
from hub.store.models import StreamRun, SyncRun, utcnow

__all__ = ["ReconcileRecord", "save_reports", "history", "last_check", "last_sync_started"]


class ReconcileRecord(SQLModel, table=True):
    __tablename__ = "reconcile_reports"
    id: int | None = Field(default=None, primary_key=True)
    check_id: str = Field(index=True)  # one reconcile of a connection (all its streams)
    connection: str = Field(index=True)
    stream: str
    table_name: str
    status: str  # clean | differences | failed
    source_count: int = 0
    warehouse_count: int = 0
    missing: int = 0
    extra: int = 0
    stale: int = 0
    equal: int = 0
    pending: int = 0
    samples: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    seconds: float = 0.0
    phase: str = "check"  # check | before-repair | after-repair
    error: str | None = Field(default=None, sa_column=Column(Text))
    checked_at: datetime = Field(default_factory=utcnow)


def save_reports(engine: Engine, check_id: str, reports: list[StreamReport], phase: str = "check") -> None:
    with Session(engine) as session:
        for r in reports:
            session.add(
                ReconcileRecord(
                    check_id=check_id,
                    connection=r.connection,
                    stream=r.stream,
                    table_name=r.table,
                    status=r.status,
                    source_count=r.source,
                    warehouse_count=r.warehouse,
                    missing=r.missing,
                    extra=r.extra,
                    stale=r.stale,
                    equal=r.equal,
                    pending=r.pending,
                    samples=r.samples,
                    seconds=r.seconds,
                    phase=phase,
                    error=r.error,
                )
            )
        session.commit()


def history(
    engine: Engine, connection: str, stream: str | None = None, limit: int = 50
) -> list[ReconcileRecord]:
    """The connection's reports, newest first."""
    with Session(engine) as session:
        query = select(ReconcileRecord).where(ReconcileRecord.connection == connection)
        if stream is not None:
            query = query.where(ReconcileRecord.stream == stream)
        order = (col(ReconcileRecord.checked_at).desc(), col(ReconcileRecord.id).desc())
        return list(session.exec(query.order_by(*order).limit(limit)).all())


def last_check(engine: Engine, connection: str) -> dict[str, Any] | None:
    """The newest reconcile of the connection, summed over its streams (after a repair: the
    check after it), for `crossdock status`; None if it was never reconciled."""
    newest = history(engine, connection, limit=1)
    if not newest:
        return None
    with Session(engine) as session:
        rows = session.exec(
            select(ReconcileRecord).where(
                ReconcileRecord.check_id == newest[0].check_id, ReconcileRecord.phase == newest[0].phase
            )
        ).all()
    statuses = {r.status for r in rows}
    return {
        "status": "failed"
        if "failed" in statuses
        else "differences"
        if "differences" in statuses
        else "clean",
        "checked_at": newest[0].checked_at.replace(tzinfo=newest[0].checked_at.tzinfo or UTC).isoformat(),
        "differences": sum(r.missing + r.extra + r.stale for r in rows),
        "streams": len(rows),
    }


def last_sync_started(engine: Engine, connection: str, stream: str) -> datetime | None:
    """When the stream's last successful sync started reading (UTC), None if it never ran."""
    with Session(engine) as session:
        started = session.exec(
            select(StreamRun.started_at)
            .join(SyncRun, col(SyncRun.id) == col(StreamRun.run_id))
            .where(SyncRun.connection == connection, StreamRun.stream == stream)
            .where(StreamRun.status == "succeeded")
            .order_by(col(StreamRun.started_at).desc())
            .limit(1)
        ).first()
    if started is None:
        return None
    return started if started.tzinfo else started.replace(tzinfo=UTC)
