"""A key's rate is one bucket for every server process: processes taking from it together get
no more than it holds (the hub store on SQLite and PostgreSQL, and Redis)."""

from __future__ import annotations

import multiprocessing
import uuid
from pathlib import Path

import pytest

import hub.readapi.limits  # noqa: F401 - registers the bucket table
from hub.readapi.limits import RateLimiter, open_buckets
from hub.store import create_db_and_tables, get_engine

REDIS_URL = "redis://127.0.0.1:6379/0"
NOW = 1_800_000_000.0  # the clock stands still: no token comes back while the test runs


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres), "redis"])
def rate_store(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str | None]:
    """(hub store URL, --rate-store): the store's buckets, or Redis's."""
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    if request.param == "postgres":
        url = request.getfixturevalue("pg_schema_url")
    create_db_and_tables(get_engine(url))
    if request.param != "redis":
        return url, None
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=5).ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis is not reachable at 127.0.0.1:6379 (`redis-server --daemonize yes`): {exc}")
    return url, REDIS_URL


def _take(
    store: tuple[str, str | None], key: str, rate: float, tries: int, out: multiprocessing.Queue
) -> None:  # type: ignore[type-arg]
    engine = get_engine(store[0])
    engine.dispose(close=False)  # forked: the parent's pooled connections are not ours
    limiter = RateLimiter(open_buckets(engine, store[1]), clock=lambda: NOW)
    out.put(sum(1 for _ in range(tries) if limiter.take(key, rate) == 0))


def _admitted(store: tuple[str, str | None], key: str, rate: float, tries: int) -> list[int]:
    """What each of three processes was let through, trying `tries` times each."""
    ctx = multiprocessing.get_context("fork")
    out: multiprocessing.Queue = ctx.Queue()  # type: ignore[type-arg]
    procs = [ctx.Process(target=_take, args=(store, key, rate, tries, out)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    return [out.get(timeout=5) for _ in procs]


def test_three_processes_get_one_burst_between_them(rate_store: tuple[str, str | None]) -> None:
    # 4/s: a burst of 4, taken one token at a time; each process alone would allow 4.
    admitted = _admitted(rate_store, f"k-{uuid.uuid4().hex[:8]}", 4, 10)
    assert sum(admitted) == 4


def test_leases_never_let_more_through_than_the_bucket_holds(rate_store: tuple[str, str | None]) -> None:
    # 1000/s: leases of 250 tokens; unspent ones may be stranded in a process, never spent twice.
    admitted = _admitted(rate_store, f"k-{uuid.uuid4().hex[:8]}", 1000, 600)
    assert 1000 - 3 * 250 <= sum(admitted) <= 1000


def test_a_refusal_says_when_the_next_token_comes(rate_store: tuple[str, str | None]) -> None:
    limiter = RateLimiter(open_buckets(get_engine(rate_store[0]), rate_store[1]), clock=lambda: NOW)
    key = f"k-{uuid.uuid4().hex[:8]}"
    assert limiter.take(key, 1 / 60) == 0  # 1/min: a burst of one
    assert limiter.take(key, 1 / 60) == 60
