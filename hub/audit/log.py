"""Appending to and reading the audit log.

Appends are serialised so two writers (two flows, two processes) never fork
the chain: PostgreSQL takes a transaction-scoped advisory lock, SQLite a
`BEGIN IMMEDIATE` write lock; the unique `seq` is the last line of defence.
Details hold counts, ids and hashes, never record values or secrets.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from hub.audit.chain import VerifyReport, entry_hash, verify_entries
from hub.audit.models import AuditEvent
from hub.redaction import redact_obj
from hub.secrets.keys import Keyring
from hub.store.models import utcnow

__all__ = ["AuditLog"]

_PG_LOCK_ID = 0x43524F53  # "CROS": one advisory lock for the audit chain


class AuditLog:
    def __init__(self, engine: Engine, keyring: Keyring) -> None:
        self.engine, self.keyring = engine, keyring

    def append(self, action: str, *, actor: str = "crossdock", target: str | None = None,
               details: dict[str, Any] | None = None) -> dict[str, Any]:
        for attempt in range(5):
            try:
                with self.engine.connect() as conn:
                    self._lock(conn)
                    entry = self._next_entry(conn, action, actor, target, redact_obj(details or {}))
                    conn.execute(insert(AuditEvent).values(**entry))
                    conn.commit()
                    return entry
            except IntegrityError:  # another writer took this seq first: read the head again
                if attempt == 4:
                    raise
        raise AssertionError("unreachable")

    def _lock(self, conn: Connection) -> None:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK_ID})")
        elif conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    def _next_entry(self, conn: Connection, action: str, actor: str, target: str | None,
                    details: dict[str, Any]) -> dict[str, Any]:
        head = conn.execute(select(AuditEvent.seq, AuditEvent.entry_hash)
                            .order_by(AuditEvent.seq.desc()).limit(1)).first()  # type: ignore[attr-defined]
        entry: dict[str, Any] = {
            "seq": head[0] + 1 if head else 1, "at": utcnow(), "actor": actor,
            "action": action, "target": target, "details": details,
            "prev_hash": head[1] if head else "", "key_version": self.keyring.primary,
        }
        entry["entry_hash"] = entry_hash(self.keyring, entry)
        return entry

    def entries(self, *, since: datetime | None = None, action: str | None = None,
                actor: str | None = None, target: str | None = None,
                last: int | None = None) -> list[dict[str, Any]]:
        query = select(AuditEvent)
        if since:
            query = query.where(AuditEvent.at >= since)
        if action:
            query = query.where(AuditEvent.action == action)
        if actor:
            query = query.where(AuditEvent.actor == actor)
        if target:
            query = query.where(AuditEvent.target.startswith(target))  # type: ignore[union-attr]
        if last:
            query = query.order_by(AuditEvent.seq.desc()).limit(last)  # type: ignore[attr-defined]
        with self.engine.connect() as conn:
            rows = [_as_dict(r) for r in conn.execute(query)]
        return sorted(rows, key=lambda e: e["seq"])

    def verify(self) -> VerifyReport:
        return verify_entries(self.keyring, self._all())

    def _all(self) -> Iterator[dict[str, Any]]:
        with self.engine.connect() as conn:
            for row in conn.execute(select(AuditEvent).order_by(AuditEvent.seq)):
                yield _as_dict(row)


def _as_dict(row: Any) -> dict[str, Any]:
    entry = dict(row._mapping)
    entry.pop("id", None)
    return entry
