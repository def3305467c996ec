"""Read-only views of the run history, for the flow's artifacts and `crossdock report`.

Kept apart from hub/store/runs.py (the bookkeeping the pipeline writes through): nothing
here writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from hub.store.models import DeadLetter, SyncRun

__all__ = ["DeadLetterReason", "dead_letter_reasons", "runs_since"]


@dataclass(frozen=True)
class DeadLetterReason:
    stream: str
    reason: str
    count: int


def dead_letter_reasons(engine: Engine, run_id: str, limit: int = 10) -> list[DeadLetterReason]:
    """The run's most frequent dead-letter reasons per stream (reasons, never the records)."""
    with Session(engine) as session:
        count = func.count().label("n")
        rows = session.exec(
            select(DeadLetter.stream, DeadLetter.reason, count)
            .where(DeadLetter.run_id == run_id)
            .group_by(col(DeadLetter.stream), col(DeadLetter.reason))
            .order_by(count.desc(), col(DeadLetter.stream))
            .limit(limit)
        ).all()
        return [DeadLetterReason(stream, reason, n) for stream, reason, n in rows]


def runs_since(engine: Engine, since: datetime) -> list[SyncRun]:
    """Every run started at or after `since`, oldest first."""
    with Session(engine) as session:
        query = select(SyncRun).where(col(SyncRun.started_at) >= since).order_by(col(SyncRun.started_at))
        return list(session.exec(query).all())
