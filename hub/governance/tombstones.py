"""Tombstones: salted hashes of what an erased person was known by, kept so that they stay
forgotten.

After `crossdock erase`, the person's addresses, record keys and profile ids are kept
only as HMAC-SHA256 digests keyed by a subkey of the workspace's pseudonym key (the
keyring's first version, so they survive key rotation). Nobody can read an address back
out of a tombstone, but the hub can tell whether a row it meets is the erased person:
identity stitching leaves such records out of the profiles and write-back sends them
nowhere.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine
from sqlmodel import Field, SQLModel

from hub.store.models import utcnow

__all__ = ["ErasureTombstone", "Tombstones", "tombstone_key", "digest", "add_tombstones"]


class ErasureTombstone(SQLModel, table=True):
    __tablename__ = "erasure_tombstones"
    digest: str = Field(primary_key=True)  # HMAC of "<kind>:<value>"; never the value
    kind: str  # email | record | profile
    request_id: str = Field(index=True)
    at: datetime = Field(default_factory=utcnow)


def tombstone_key(pseudonym_key: bytes) -> bytes:
    """The salt: a subkey of the workspace's pseudonym key (hub/secrets/keys.py)."""
    return hmac.new(pseudonym_key, b"crossdock erasure tombstone", hashlib.sha256).digest()


def _message(kind: str, value: str) -> bytes:
    normal = value.strip().lower() if kind == "email" else value.strip()
    return f"{kind}:{normal}".encode()


def digest(key: bytes, kind: str, value: str) -> str:
    return hmac.new(key, _message(kind, value), hashlib.sha256).hexdigest()


class Tombstones:
    """The set of tombstones, loaded once per run; `covers(row)` is the question asked."""

    def __init__(self, key: bytes, digests: Iterable[str] = ()) -> None:
        self.key = key
        self.digests = set(digests)
        # asked per synced row once anyone is erased: the HMAC is keyed once, copied per value
        self._keyed = hmac.new(key, digestmod=hashlib.sha256)

    @classmethod
    def load(cls, engine: Engine, pseudonym_key: bytes) -> Tombstones:
        table = ErasureTombstone.__table__  # type: ignore[attr-defined]
        with engine.connect() as conn:
            return cls(tombstone_key(pseudonym_key), (d for (d,) in conn.execute(select(table.c.digest))))

    def __len__(self) -> int:
        return len(self.digests)

    def has(self, kind: str, value: Any) -> bool:
        if value in (None, ""):
            return False
        h = self._keyed.copy()
        h.update(_message(kind, str(value)))
        return h.hexdigest() in self.digests

    def covers(self, row: Mapping[str, Any]) -> bool:
        """Is this canonical row (a contact, an event, a profile) the erased person's?"""
        if not self.digests:
            return False
        if self.has("email", row.get("email")):
            return True
        source, source_id = row.get("source"), row.get("source_id")
        if source_id not in (None, "") and self.has("record", f"{source}:{source_id}"):
            return True
        return self.has("profile", row.get("profile_id"))


def add_tombstones(
    engine: Engine, pseudonym_key: bytes, request_id: str, values: Mapping[str, Iterable[str]]
) -> int:
    """Store a tombstone per (kind, value) not yet stored; how many were new."""
    key = tombstone_key(pseudonym_key)
    known = Tombstones.load(engine, pseudonym_key).digests
    rows: dict[str, dict[str, Any]] = {}
    now = utcnow()
    for kind, items in values.items():
        for value in items:
            d = digest(key, kind, value)
            if d not in known:
                rows[d] = {"digest": d, "kind": kind, "request_id": request_id, "at": now}
    if rows:
        with engine.begin() as conn:
            conn.execute(insert(ErasureTombstone.__table__), list(rows.values()))  # type: ignore[attr-defined]
    return len(rows)
