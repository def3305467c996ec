"""The audit events table: append-only and hash-chained (see hub/audit/chain.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from hub.store.models import utcnow

__all__ = ["AuditEvent"]


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_events"
    id: int | None = Field(default=None, primary_key=True)
    seq: int = Field(unique=True, index=True)  # 1, 2, 3 ... with no gaps
    at: datetime = Field(default_factory=utcnow, index=True)
    actor: str  # who did it: "crossdock" for the pipeline, later a user or service
    action: str = Field(index=True)  # e.g. sync.start, stream.end, dead_letter.batch
    target: str | None = Field(default=None, index=True)  # e.g. connection or connection/stream
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    prev_hash: str  # entry_hash of seq - 1 ("" for the first entry)
    key_version: int  # which master key version signed it
    entry_hash: str  # HMAC-SHA256 over all the fields above
