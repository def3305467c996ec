"""The time series the detector reads: one row per stream per finished run.

`stream_runs` (hub/store) keeps a run's read/written/dead-lettered counts, but not what the
mapping or a policy filtered out, nor what a write-back sent and had rejected, nor whether
the run was a full refresh (a full refresh reads everything and must not be judged against
incremental runs). This table keeps exactly the detector's inputs, written once when the run
ends (hub/monitoring/observe.py); dry runs are not recorded, they changed nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, insert, select
from sqlalchemy.engine import Engine
from sqlmodel import Field, SQLModel

from hub.store.models import utcnow

__all__ = ["StreamMetrics", "COUNT_FIELDS", "record_metrics", "load_metrics"]

COUNT_FIELDS = (
    "read",
    "written",
    "dead_lettered",
    "filtered",
    "policy_filtered",
    "writeback_sent",
    "writeback_accepted",
    "writeback_rejected",
)


class StreamMetrics(SQLModel, table=True):
    __tablename__ = "stream_metrics"
    run_id: str = Field(primary_key=True)
    stream: str = Field(primary_key=True)
    connection: str = Field(index=True)
    at: datetime = Field(default_factory=utcnow, index=True)  # when the run started
    status: str  # the stream's: succeeded | failed
    full_refresh: bool = False
    writes_back: bool = False
    read: int = 0
    written: int = 0
    dead_lettered: int = 0
    filtered: int = 0  # dropped by the mapping's `filter`
    policy_filtered: int = 0  # dropped by a governance policy (0 until the govern step exists)
    writeback_sent: int = 0  # records a write-back sent to the API (create + update + delete)
    writeback_accepted: int = 0
    writeback_rejected: int = 0


def _table() -> Table:
    table: Table = StreamMetrics.__table__  # type: ignore[attr-defined]
    return table


def record_metrics(engine: Engine, rows: Sequence[dict[str, Any]]) -> None:
    """Add one run's rows (StreamMetrics fields) in one transaction."""
    if rows:
        with engine.begin() as conn:
            conn.execute(insert(_table()), list(rows))


def load_metrics(
    engine: Engine, connection: str, since: datetime, stream: str | None = None
) -> list[dict[str, Any]]:
    """The connection's rows from `since` on, oldest first, as plain dicts."""
    t = _table()
    query = select(t).where(t.c.connection == connection, t.c.at >= since)
    if stream is not None:
        query = query.where(t.c.stream == stream)
    with engine.connect() as conn:
        rows = [dict(row._mapping) for row in conn.execute(query.order_by(t.c.at, t.c.run_id))]
    for row in rows:  # SQLite hands datetimes back naive; the store writes them in UTC
        row["at"] = row["at"].replace(tzinfo=UTC) if row["at"].tzinfo is None else row["at"]
    return rows
