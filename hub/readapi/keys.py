"""API keys of the read API: made with a scope, shown once, kept only as a hash.

A key reads `cdk_<id>_<secret>`: the id finds the row, the secret's SHA-256 is compared in
constant time. The secret is 32 random bytes, so a fast hash is enough (nothing to brute-force).
Making, revoking and expiry are audited; the table is created by the context (hub/context.py).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Column, Table
from sqlalchemy import select as core_select
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, col, select

from hub.audit import AuditLog
from hub.errors import ConfigError
from hub.readapi.scope import Scope
from hub.store.models import utcnow

__all__ = [
    "ApiKeyRow",
    "ApiKey",
    "NewKey",
    "create_key",
    "list_keys",
    "revoke_key",
    "find_key",
    "parse_duration",
    "parse_rate",
    "KeyRefused",
    "KeyCache",
    "KEY_RECHECK_SECONDS",
]

# How long a server trusts what it read about a key: a revocation reaches it within this.
KEY_RECHECK_SECONDS = 1.0

PREFIX = "cdk_"
_TOKEN = re.compile(r"^cdk_([0-9a-f]{12})_([A-Za-z0-9_-]{20,})$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class ApiKeyRow(SQLModel, table=True):
    __tablename__ = "api_keys"
    id: str = Field(primary_key=True)  # the public part of the token
    name: str = Field(unique=True)
    secret_hash: str
    scope: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    rate_per_second: float
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime | None = None
    revoked_at: datetime | None = None


_TABLE: Table = ApiKeyRow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class ApiKey:
    """A key as the server checks it (no hash, no secret)."""

    id: str
    name: str
    scope: Scope
    rate_per_second: float
    expires_at: datetime | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "scope": self.scope.to_json(),
            "rate_per_second": self.rate_per_second,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
        }


@dataclass(frozen=True)
class NewKey:
    key: ApiKey
    token: str  # shown once; never stored


class KeyRefused(Exception):
    """The request's key does not open the API: why, for a 401 (no secret in the message)."""


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _aware(at: datetime | None) -> datetime | None:
    # SQLite hands timestamps back without their zone; the store writes them in UTC.
    return at if at is None or at.tzinfo else at.replace(tzinfo=utcnow().tzinfo)


def _key(row: ApiKeyRow) -> ApiKey:
    return ApiKey(row.id, row.name, Scope.from_json(row.scope), row.rate_per_second, _aware(row.expires_at))


def parse_duration(text: str) -> timedelta:
    """`90d`, `12h`, `30m`, `45s`."""
    m = re.fullmatch(r"\s*(\d+)\s*([dhms])\s*", text)
    if not m or int(m[1]) == 0:
        raise ConfigError(f"--expires-in `{text}`: write a positive number and d, h, m or s (e.g. 90d)")
    unit = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}[m[2]]
    return timedelta(**{unit: int(m[1])})


def parse_rate(text: str) -> float:
    """`20/s`, `600/min`: requests per second."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*/\s*(s|sec|second|m|min|minute)\s*", text)
    if not m or float(m[1]) <= 0:
        raise ConfigError(f"--rate `{text}`: write requests per second or minute, e.g. 20/s or 600/min")
    return float(m[1]) / (1 if m[2].startswith("s") else 60)


def create_key(
    engine: Engine,
    audit: AuditLog,
    name: str,
    scope: Scope,
    *,
    rate_per_second: float,
    expires_in: timedelta | None = None,
    actor: str = "cli",
) -> NewKey:
    if not _NAME.match(name):
        raise ConfigError(
            f"key name `{name}`: letters, digits, `_.-`, at most 64, starting with a letter or digit"
        )
    key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    row = ApiKeyRow(
        id=key_id,
        name=name,
        secret_hash=_hash(secret),
        scope=scope.to_json(),
        rate_per_second=rate_per_second,
        expires_at=utcnow() + expires_in if expires_in else None,
    )
    details = {"key_id": key_id, "scope": scope.to_json(), "rate_per_second": rate_per_second}
    details["expires_at"] = row.expires_at.isoformat() if row.expires_at else None
    with Session(engine) as session:
        if session.exec(select(ApiKeyRow).where(col(ApiKeyRow.name) == name)).first() is not None:
            raise ConfigError(f"an API key named `{name}` exists already (`crossdock api-keys list`)")
    # The row and its audit entry in one transaction: no key exists that the log does not show.
    with audit.recording("api_key.create", actor=actor, target=name, details=details) as conn:
        conn.execute(_TABLE.insert().values(**row.model_dump()))
    return NewKey(_key(row), f"{PREFIX}{key_id}_{secret}")


def list_keys(engine: Engine) -> list[dict[str, Any]]:
    now = utcnow()
    with Session(engine) as session:
        rows = list(session.exec(select(ApiKeyRow).order_by(col(ApiKeyRow.created_at))))
    out = []
    for row in rows:
        expires, revoked = _aware(row.expires_at), _aware(row.revoked_at)
        status = "revoked" if revoked else "expired" if expires and expires <= now else "active"
        out.append(
            {
                **_key(row).to_json(),
                "status": status,
                "created_at": _aware(row.created_at).isoformat(),  # type: ignore[union-attr]
                "revoked_at": revoked.isoformat() if revoked else None,
            }
        )
    return out


def revoke_key(engine: Engine, audit: AuditLog, name: str, *, actor: str = "cli") -> ApiKey:
    with Session(engine) as session:
        row = session.exec(select(ApiKeyRow).where(col(ApiKeyRow.name) == name)).first()
    if row is None:
        raise ConfigError(f"no API key named `{name}` (`crossdock api-keys list`)")
    if row.revoked_at is not None:
        raise ConfigError(f"API key `{name}` was revoked already, at {row.revoked_at:%Y-%m-%d %H:%M} UTC")
    with audit.recording("api_key.revoke", actor=actor, target=name, details={"key_id": row.id}) as conn:
        conn.execute(_TABLE.update().where(_TABLE.c.id == row.id).values(revoked_at=utcnow()))
    return _key(row)


def find_key(engine: Engine, token: str | None) -> ApiKey:
    """The key a request presents, or KeyRefused saying why (no key, unknown, revoked, expired)."""
    if not token:
        raise KeyRefused("no API key: send `Authorization: Bearer cdk_...`")
    m = _TOKEN.match(token)
    if m is None:
        raise KeyRefused("not a Crossdock API key (they look like cdk_<12 hex>_<secret>)")
    with engine.connect() as conn:
        row = conn.execute(core_select(_TABLE).where(_TABLE.c.id == m[1])).first()
    if row is None or not hmac.compare_digest(row.secret_hash, _hash(m[2])):
        raise KeyRefused("unknown API key")
    if row.revoked_at is not None:
        raise KeyRefused(f"API key `{row.name}` was revoked")
    expires = _aware(row.expires_at)
    if expires is not None and expires <= utcnow():
        raise KeyRefused(f"API key `{row.name}` expired at {expires:%Y-%m-%d %H:%M:%S} UTC")
    return ApiKey(row.id, row.name, Scope.from_json(row.scope), row.rate_per_second, expires)


class KeyCache:
    """`find_key` for a server: a key's row is read again after `recheck_seconds`, so a
    revocation in another process is seen within that; expiry is checked on every request."""

    def __init__(self, engine: Engine, recheck_seconds: float = KEY_RECHECK_SECONDS) -> None:
        self.engine, self.recheck = engine, recheck_seconds
        self._seen: dict[str, tuple[float, ApiKey | KeyRefused]] = {}

    def find(self, token: str | None) -> ApiKey:
        now = time.monotonic()
        hit = self._seen.get(token or "")
        if hit is None or now - hit[0] >= self.recheck:
            try:
                found: ApiKey | KeyRefused = find_key(self.engine, token)
            except KeyRefused as exc:
                found = exc
            if len(self._seen) > 10_000:  # unknown tokens must not grow it without end
                self._seen.clear()
            hit = (now, found)
            self._seen[token or ""] = hit
        if isinstance(hit[1], KeyRefused):
            raise hit[1]
        key = hit[1]
        if key.expires_at is not None and key.expires_at <= utcnow():
            raise KeyRefused(f"API key `{key.name}` expired at {key.expires_at:%Y-%m-%d %H:%M:%S} UTC")
        return key
