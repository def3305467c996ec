"""The audit events table: append-only (the hub never updates or deletes a row)."""

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
    at: datetime = Field(default_factory=utcnow, index=True)
    actor: str  # who did it: "crossdock" for the pipeline, later a user or service
    action: str = Field(index=True)  # e.g. sync.start, stream.end, dead_letter.batch
    target: str | None = Field(default=None, index=True)  # e.g. connection or connection/stream
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
