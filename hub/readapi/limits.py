"""Per-key request rate, shared by every server process: a token bucket per key in the store
(or in Redis), spent locally through short leases.

A key may burst up to one second's worth of requests, then gets its rate; a request beyond it
is refused with 429 and how many seconds until the next one is allowed (Retry-After).

The bucket lives where every `crossdock serve-api` process sees it: by default a row of the hub
store (SQLite `BEGIN IMMEDIATE`, PostgreSQL `SELECT ... FOR UPDATE`: two processes never both
take the last token), or a Redis hash updated by one Lua script (`--rate-store redis://...`).
Going to the store for every request would cost a write transaction each; instead a process
takes a **lease** of up to LEASE_SECONDS worth of the key's rate at once and spends it in
memory. A lease not spent within LEASE_SECONDS is not spent later: its tokens go back into the
bucket with the process's next take. So the processes together never admit more than the
bucket gives out (they may admit a little less while one holds a lease another would have used).
One take at a time per key and process: requests that find the lease spent wait for the take
under way and share its lease.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Field, SQLModel

__all__ = [
    "ApiKeyBucket",
    "Buckets",
    "StoreBuckets",
    "RedisBuckets",
    "RateLimiter",
    "open_buckets",
    "LEASE_SECONDS",
]

# How much of a key's rate one process takes from the shared bucket at once (and how long it
# may keep it): 250 ms worth, so a busy key costs a server four store transactions a second. A
# key of 4/s or less is taken one token at a time.
LEASE_SECONDS = 0.25


class ApiKeyBucket(SQLModel, table=True):
    """The shared token bucket of one API key: its tokens at wall-clock time `at`."""

    __tablename__ = "api_key_bucket"
    key_id: str = Field(primary_key=True)
    tokens: float
    at: float


@dataclass(frozen=True)
class Take:
    granted: int  # tokens taken (0: refused)
    wait: float  # seconds until one token is there (when refused)


class Buckets(Protocol):
    def take(self, key_id: str, rate: float, burst: float, want: int, now: float, back: int = 0) -> Take:
        """Put `back` unspent tokens back, then take up to `want` whole tokens (at least one, or
        none) from the key's bucket."""
        ...

    def close(self) -> None: ...


def _refill(
    tokens: float, at: float, rate: float, burst: float, want: int, now: float, back: int
) -> tuple[float, Take]:
    """The bucket after taking: (tokens left, what was taken). The arithmetic the Lua script
    repeats for Redis."""
    tokens = min(burst, tokens + back + max(0.0, now - at) * rate)
    granted = min(want, math.floor(tokens))
    if granted >= 1:
        return tokens - granted, Take(granted, 0.0)
    return tokens, Take(0, (1.0 - tokens) / rate)


class StoreBuckets:
    """Buckets as rows of the hub store: one short write transaction per take."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def take(self, key_id: str, rate: float, burst: float, want: int, now: float, back: int = 0) -> Take:
        with self._locked(key_id, burst, now) as conn:
            tokens, at = conn.execute(
                text("SELECT tokens, at FROM api_key_bucket WHERE key_id = :k" + self._for_update),
                {"k": key_id},
            ).one()
            left, took = _refill(tokens, at, rate, burst, want, now, back)
            conn.execute(
                text("UPDATE api_key_bucket SET tokens = :t, at = :a WHERE key_id = :k"),
                {"t": left, "a": max(now, at), "k": key_id},
            )
            return took

    @property
    def _for_update(self) -> str:
        return " FOR UPDATE" if self.engine.dialect.name == "postgresql" else ""

    @contextmanager
    def _locked(self, key_id: str, burst: float, now: float) -> Any:
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            if self.engine.dialect.name == "postgresql":
                conn.exec_driver_sql("BEGIN")
                # A crash may lose the last takes (a little under the limit), never over it.
                conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
            else:
                conn.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock before reading
            try:
                conn.execute(
                    text(
                        "INSERT INTO api_key_bucket (key_id, tokens, at) VALUES (:k, :t, :a) "
                        "ON CONFLICT (key_id) DO NOTHING"
                    ),
                    {"k": key_id, "t": burst, "a": now},
                )
                yield conn
            except BaseException:
                conn.exec_driver_sql("ROLLBACK")
                raise
            conn.exec_driver_sql("COMMIT")

    def close(self) -> None:
        pass


# KEYS[1]: the bucket's hash; ARGV: rate, burst, want, now, back. Returns {granted, wait * 1e6}.
_REDIS_TAKE = """
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local rate, burst, want, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local tokens, at = tonumber(b[1]) or burst, tonumber(b[2]) or now
tokens = math.min(burst, tokens + tonumber(ARGV[5]) + math.max(0, now - at) * rate)
local granted = math.min(want, math.floor(tokens))
local wait = 0
if granted >= 1 then tokens = tokens - granted else granted = 0; wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(math.max(now, at)))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 60)
return {granted, math.floor(wait * 1000000)}
"""


class RedisBuckets:
    """Buckets in Redis (optional: `--rate-store redis://host:6379/0`); one Lua script per take,
    atomic on the server, so processes on several machines share a key's rate."""

    def __init__(self, url: str, prefix: str = "crossdock:api_key_bucket:") -> None:
        import redis  # only when asked for: the hub's default needs no Redis

        self.client = redis.Redis.from_url(url)
        self.prefix = prefix
        self._script = self.client.register_script(_REDIS_TAKE)

    def take(self, key_id: str, rate: float, burst: float, want: int, now: float, back: int = 0) -> Take:
        granted, wait_us = self._script(keys=[self.prefix + key_id], args=[rate, burst, want, now, back])
        return Take(int(granted), int(wait_us) / 1_000_000)

    def close(self) -> None:
        self.client.close()


def open_buckets(engine: Engine, rate_store: str | None) -> StoreBuckets | RedisBuckets:
    """The hub store's buckets, or Redis's for a `redis://` / `rediss://` URL."""
    if rate_store and rate_store.startswith(("redis://", "rediss://", "unix://")):
        return RedisBuckets(rate_store)
    return StoreBuckets(engine)


@dataclass
class _Lease:
    left: int
    until: float  # monotonic


class RateLimiter:
    """The 429 decision for one server process, over buckets every process shares."""

    def __init__(
        self,
        buckets: Buckets,
        *,
        clock: Callable[[], float] = time.time,
        lease_seconds: float = LEASE_SECONDS,
    ) -> None:
        self.buckets, self._clock, self.lease_seconds = buckets, clock, lease_seconds
        self._leases: dict[str, _Lease] = {}
        self._lock = threading.Lock()  # guards the leases
        self._taking: dict[str, threading.Lock] = {}  # one store take at a time per key

    def take_local(self, key_id: str) -> bool:
        """Spend one token of this process's lease, if it holds one (no store access)."""
        with self._lock:
            lease = self._leases.get(key_id)
            if lease is None or lease.left < 1 or lease.until <= time.monotonic():
                return False
            lease.left -= 1
            return True

    def take(self, key_id: str, rate: float) -> int:
        """0 if the request may go; else the whole seconds to wait before retrying."""
        with self._lock:
            taking = self._taking.setdefault(key_id, threading.Lock())
        with taking:
            if self.take_local(key_id):  # the take this one waited for left some
                return 0
            with self._lock:
                expired = self._leases.pop(key_id, None)
            back = expired.left if expired else 0
            burst = max(1.0, rate)
            want = max(1, min(int(burst), math.floor(rate * self.lease_seconds)))
            took = self.buckets.take(key_id, rate, burst, want, self._clock(), back)
            if took.granted < 1:
                return max(1, math.ceil(took.wait))
            with self._lock:
                self._leases[key_id] = _Lease(took.granted - 1, time.monotonic() + self.lease_seconds)
            return 0
