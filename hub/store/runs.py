"""Bookkeeping of sync runs in the store: runs, per-stream outcomes, state, dead letters."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from hub.store.models import (
    ConnectionRecord,
    DeadLetter,
    StreamRun,
    StreamState,
    SyncRun,
    utcnow,
)

__all__ = [
    "record_connection",
    "start_run",
    "finish_run",
    "start_stream",
    "finish_stream",
    "load_state",
    "save_state",
    "add_dead_letters",
    "list_runs",
    "get_run",
    "running_runs",
    "abandon_run",
]


def record_connection(
    engine: Engine,
    name: str,
    source_connector: str,
    destination_type: str,
    config_hash: str,
    mapping_versions: dict[str, str],
) -> tuple[ConnectionRecord | None, ConnectionRecord]:
    """Remember the connection as the workspace defines it now; returns (before, now)."""
    with Session(engine) as session:
        row = session.get(ConnectionRecord, name)
        before = ConnectionRecord.model_validate(row) if row is not None else None
        now = ConnectionRecord(
            name=name,
            source_connector=source_connector,
            destination_type=destination_type,
            config_hash=config_hash,
            mapping_versions=mapping_versions,
            updated_at=utcnow(),
        )
        if before is None or (before.config_hash, before.mapping_versions) != (config_hash, mapping_versions):
            session.merge(now)
            session.commit()
        return before, now


def start_run(engine: Engine, run_id: str, connection: str, full_refresh: bool) -> None:
    with Session(engine) as session:
        session.add(SyncRun(id=run_id, connection=connection, full_refresh=full_refresh))
        session.commit()


def finish_run(engine: Engine, run_id: str, status: str, error: str | None = None) -> SyncRun:
    with Session(engine) as session:
        run = session.get_one(SyncRun, run_id)
        streams = session.exec(select(StreamRun).where(StreamRun.run_id == run_id)).all()
        run.status, run.error, run.ended_at = status, error, utcnow()
        run.records_read = sum(s.records_read for s in streams)
        run.records_written = sum(s.records_written for s in streams)
        run.records_dead_lettered = sum(s.records_dead_lettered for s in streams)
        session.add(run)
        session.commit()
        session.refresh(run)
        return run


def start_stream(engine: Engine, run_id: str, stream: str) -> None:
    with Session(engine) as session:
        # A Prefect retry of the task restarts the stream: one row per stream per run.
        session.merge(StreamRun(run_id=run_id, stream=stream))
        session.commit()


def finish_stream(
    engine: Engine,
    run_id: str,
    stream: str,
    *,
    status: str,
    read: int,
    written: int,
    dead: int,
    state: dict[str, Any] | None,
    error: str | None,
) -> None:
    with Session(engine) as session:
        row = session.get_one(StreamRun, (run_id, stream))
        row.status, row.error, row.state, row.ended_at = status, error, state, utcnow()
        row.records_read, row.records_written, row.records_dead_lettered = read, written, dead
        session.add(row)
        session.commit()


def load_state(engine: Engine, connection: str, stream: str) -> StreamState | None:
    """The stream's saved state row, with the destination it was saved for (None if none)."""
    with Session(engine) as session:
        row = session.get(StreamState, (connection, stream))
        return StreamState.model_validate(row) if row else None


def save_state(
    engine: Engine,
    connection: str,
    stream: str,
    state: dict[str, Any],
    run_id: str,
    destination: str | None = None,
) -> None:
    """Save the state for (connection, stream), replacing any saved for another destination."""
    with Session(engine) as session:
        session.merge(
            StreamState(
                connection=connection,
                stream=stream,
                state=state,
                run_id=run_id,
                updated_at=utcnow(),
                destination=destination,
            )
        )
        session.commit()


def add_dead_letters(
    engine: Engine, run_id: str, connection: str, stream: str, dead: Sequence[tuple[dict[str, Any], str]]
) -> None:
    if not dead:
        return
    now = utcnow()
    rows = [
        dict(
            run_id=run_id, connection=connection, stream=stream, reason=reason, record=record, created_at=now
        )
        for record, reason in dead
    ]
    with engine.begin() as conn:
        conn.execute(insert(DeadLetter), rows)


def list_runs(engine: Engine, limit: int = 20, connection: str | None = None) -> list[SyncRun]:
    with Session(engine) as session:
        query = select(SyncRun).order_by(SyncRun.started_at.desc())  # type: ignore[attr-defined]
        if connection:
            query = query.where(SyncRun.connection == connection)
        return list(session.exec(query.limit(limit)).all())


def get_run(engine: Engine, run_id: str) -> tuple[SyncRun, list[StreamRun]] | None:
    with Session(engine) as session:
        run = session.get(SyncRun, run_id)
        if run is None:
            return None
        streams = session.exec(
            select(StreamRun).where(StreamRun.run_id == run_id).order_by(StreamRun.stream)
        ).all()
        return run, list(streams)


def running_runs(engine: Engine, connection: str | None = None) -> list[SyncRun]:
    """Runs whose status still says `running` (some may be dead: hub/store/locks.py)."""
    with Session(engine) as session:
        query = select(SyncRun).where(SyncRun.status == "running")
        if connection:
            query = query.where(SyncRun.connection == connection)
        return list(session.exec(query).all())


def abandon_run(engine: Engine, run_id: str, error: str) -> bool:
    """Mark a `running` run (and its running streams) abandoned; False if it ended meanwhile.

    Conditional on the status, so a run that finished between our look and this write keeps
    its real outcome. The counts are what its streams had committed."""
    with Session(engine) as session:
        streams = session.exec(select(StreamRun).where(StreamRun.run_id == run_id)).all()
        changed = (
            session.exec(
                update(SyncRun)
                .where(col(SyncRun.id) == run_id, col(SyncRun.status) == "running")
                .values(
                    status="abandoned",
                    error=error,
                    ended_at=utcnow(),
                    records_read=sum(s.records_read for s in streams),
                    records_written=sum(s.records_written for s in streams),
                    records_dead_lettered=sum(s.records_dead_lettered for s in streams),
                )
            ).rowcount
            == 1
        )
        if changed:
            session.exec(
                update(StreamRun)
                .where(col(StreamRun.run_id) == run_id, col(StreamRun.status) == "running")
                .values(status="abandoned", ended_at=utcnow())
            )
        session.commit()
        return changed


# --- Operations (`crossdock status`, `crossdock state`): read-mostly helpers, kept apart from the
# bookkeeping above. State is read and written through load_state/save_state; the two helpers
# here that touch stream_state filter on (connection, stream) only, so they hold whatever else
# its key comes to include.

__all__ += ["latest_run", "count_runs_by_status", "state_updated", "clear_state"]


def latest_run(engine: Engine, connection: str, status: str | None = None) -> SyncRun | None:
    """The connection's newest run (with `status` when given), by start time."""
    with Session(engine) as session:
        query = select(SyncRun).where(SyncRun.connection == connection)
        if status is not None:
            query = query.where(SyncRun.status == status)
        return session.exec(query.order_by(col(SyncRun.started_at).desc()).limit(1)).first()


def count_runs_by_status(engine: Engine, connection: str, since: datetime) -> dict[str, int]:
    """status -> number of the connection's runs started at or after `since`."""
    with Session(engine) as session:
        rows = session.exec(
            select(SyncRun.status, func.count())
            .where(SyncRun.connection == connection, col(SyncRun.started_at) >= since)
            .group_by(SyncRun.status)
        ).all()
        return {status: count for status, count in rows}


def state_updated(engine: Engine, connection: str, stream: str) -> tuple[datetime, str | None] | None:
    """When the stream's saved state was last written, and by which run (None: no state)."""
    with Session(engine) as session:
        row = session.exec(
            select(StreamState.updated_at, StreamState.run_id)
            .where(StreamState.connection == connection, StreamState.stream == stream)
            .order_by(col(StreamState.updated_at).desc())
            .limit(1)
        ).first()
        return (row[0], row[1]) if row else None


def clear_state(engine: Engine, connection: str, stream: str) -> bool:
    """Forget the stream's saved state (its next sync reads from the start); False if none."""
    with engine.begin() as conn:
        t = StreamState.__table__  # type: ignore[attr-defined]
        deleted = conn.execute(delete(t).where(t.c.connection == connection, t.c.stream == stream))
        return bool(deleted.rowcount)
