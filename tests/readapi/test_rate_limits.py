"""A key's rate is one bucket for every server process: processes taking from it together get
no more than it holds (the hub store on SQLite and PostgreSQL, and Redis)."""

from __future__ import annotations

import json
import subprocess
import sys
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


# Each taker is a fresh interpreter, as a second `serve-api` process is: a fork of this
# test worker would inherit its threads (Prefect's, the pool's) and their locks.
_TAKER = """
import json, sys
import hub.readapi.limits
from hub.readapi.limits import RateLimiter, open_buckets
from hub.store import get_engine
url, rate_store, key, rate, tries, now = json.loads(sys.argv[1])
limiter = RateLimiter(open_buckets(get_engine(url), rate_store), clock=lambda: now)
print(sum(1 for _ in range(tries) if limiter.take(key, rate) == 0))
"""


def _admitted(store: tuple[str, str | None], key: str, rate: float, tries: int) -> list[int]:
    """What each of three processes was let through, trying `tries` times each."""
    args = json.dumps([store[0], store[1], key, rate, tries, NOW])
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _TAKER, args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    admitted = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        admitted.append(int(out.strip()))
    return admitted


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
