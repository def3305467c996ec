"""Appending audit events. Details hold counts, ids and hashes, never record values or secrets."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine

from hub.audit.models import AuditEvent

__all__ = ["record_event", "events"]


def record_event(engine: Engine, action: str, *, actor: str = "crossdock",
                 target: str | None = None, details: dict[str, Any] | None = None) -> None:
    with engine.begin() as conn:
        conn.execute(insert(AuditEvent).values(actor=actor, action=action, target=target,
                                               details=details or {}))


def events(engine: Engine, action: str | None = None) -> list[AuditEvent]:
    query = select(AuditEvent).order_by(AuditEvent.id)  # type: ignore[arg-type]
    if action:
        query = query.where(AuditEvent.action == action)
    with engine.connect() as conn:
        return [AuditEvent.model_validate(row._mapping) for row in conn.execute(query)]
