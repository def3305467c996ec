"""The shared budget on a real store: windows, quota, bucket, pauses, in-flight slots, and
several processes taking from one account (SQLite and PostgreSQL)."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

import hub.apigov.models  # noqa: F401 - registers the ledger's tables
from hub.apigov import ApiGate, Budget, EgressRules, QuotaExhausted, RunKey, Window, daily_usage, stream_usage
from hub.apigov.budget import Bucket
from hub.store import create_db_and_tables, get_engine

RULES = EgressRules(
    connection="crm", side="read", hosts=("api.hubapi.com",), read_writes=("POST /crm/v3/objects/*/search",)
)
URL = "https://api.hubapi.com/crm/v3/objects/contacts"


class Clock:
    """Time that moves only when the gate sleeps (or the test says so)."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'hub.db'}"
    else:
        url = request.getfixturevalue("pg_schema_url")
    create_db_and_tables(get_engine(url))
    return url


def _gate(url: str, budget: Budget, clock: Clock | None = None, account: str = "hubspot-a") -> ApiGate:
    gate = ApiGate(
        account=account, budget=budget, rules=RULES, engine=get_engine(url), run=RunKey("r1", "contacts")
    )
    if clock is not None:
        gate.clock, gate.sleep = clock, clock.sleep
    return gate


def test_window_makes_the_next_call_wait_until_the_oldest_leaves(store: str) -> None:
    clock = Clock()
    gate = _gate(store, Budget(windows=[Window(calls=3, seconds=10)], margin=0), clock)
    for _ in range(3):
        gate.acquire("GET", URL)
    assert clock.slept == []
    gate.acquire("GET", URL)  # the 4th waits the whole window: the first 3 came at once
    assert clock.slept == [pytest.approx(10.0)]
    usage = stream_usage(get_engine(store), "r1", "contacts")
    assert usage is not None
    assert (usage["calls"], usage["waits"], usage["wait_seconds"]) == (4, 1, 10.0)


def test_a_window_with_paths_counts_only_those_calls(store: str) -> None:
    clock = Clock()
    search = Window(calls=1, seconds=1, paths=["/crm/v3/objects/*/search"])
    gate = _gate(store, Budget(windows=[search], margin=0), clock)
    gate.acquire("GET", URL)
    gate.acquire("GET", URL)
    gate.acquire("POST", URL + "/search")
    assert clock.slept == []
    gate.acquire("POST", "https://api.hubapi.com/crm/v3/objects/companies/search")
    assert clock.slept == [pytest.approx(1.0)]


def test_daily_quota_stops_with_the_time_to_resume(store: str) -> None:
    clock = Clock()
    gate = _gate(store, Budget(daily=2), clock)
    gate.acquire("GET", URL)
    gate.acquire("GET", URL)
    with pytest.raises(QuotaExhausted, match="daily API quota of account `hubspot-a`") as caught:
        gate.acquire("GET", URL)
    assert caught.value.resume_at.isoformat().endswith("T00:00:00+00:00")
    [today] = daily_usage(get_engine(store))
    assert (today["calls"], today["quota_stops"], today["daily_limit"]) == (2, 1, 2)
    clock.now += 86_400  # the next UTC day has calls again
    gate.acquire("GET", URL)


def test_a_429_pauses_every_gate_of_the_account(store: str) -> None:
    clock = Clock()
    first, second = _gate(store, Budget(), clock), _gate(store, Budget(), clock)
    ticket = first.acquire("GET", URL)
    first.settle(ticket, "GET", URL, 429, {"retry-after": "7"})
    second.acquire("GET", URL)
    assert clock.slept == [pytest.approx(7.0)]
    usage = stream_usage(get_engine(store), "r1", "contacts")
    assert usage is not None and usage["throttled"] == 1


def test_shopify_bucket_waits_for_the_leak_and_reads_the_level_back(store: str) -> None:
    clock = Clock()
    bucket = Bucket(size=4, leak_per_second=2, header="X-Shopify-Shop-Api-Call-Limit")
    gate = _gate(store, Budget(bucket=bucket), clock, account="shop")
    ticket = gate.acquire("GET", URL)
    # another app drained the store's bucket: the API says 4/4, so the next call waits
    gate.settle(ticket, "GET", URL, 200, {"X-Shopify-Shop-Api-Call-Limit": "4/4"})
    gate.acquire("GET", URL)
    assert clock.slept == [pytest.approx(0.5)]


def test_facebook_usage_header_pauses_the_account(store: str) -> None:
    clock = Clock()
    gate = _gate(store, Budget(usage_headers=["X-App-Usage"], usage_pause_seconds=30), clock, account="fb")
    ticket = gate.acquire("GET", URL)
    gate.settle(ticket, "GET", URL, 200, {"x-app-usage": '{"call_count": 95, "total_time": 10}'})
    gate.acquire("GET", URL)
    assert clock.slept == [pytest.approx(30.0)]


def test_concurrent_cap_holds_a_slot_until_the_answer(store: str) -> None:
    clock = Clock()
    gate = _gate(store, Budget(concurrent=1), clock, account="mc")
    held = gate.acquire("GET", URL)
    assert held.slot is not None
    clock.sleep = lambda s: (clock.slept.append(s), gate.settle(held, "GET", URL, 200, {}))  # type: ignore[assignment]
    gate.sleep = clock.sleep
    gate.acquire("GET", URL)  # waits once, then the answer to the first frees the slot
    assert len(clock.slept) == 1


def _hammer(url: str, grants: multiprocessing.Queue, calls: int) -> None:  # type: ignore[type-arg]
    import time

    engine = get_engine(url)
    engine.dispose(close=False)
    gate = ApiGate(
        account="shared",
        budget=Budget(windows=[Window(calls=5, seconds=0.5)], margin=0.2),
        rules=RULES,
        engine=engine,
    )
    for _ in range(calls):
        gate.acquire("GET", URL)
        grants.put(time.time())


def test_processes_share_one_window(store: str) -> None:
    """Three processes, 8 calls each, 5 per 0.5 s allowed: no 0.5 s holds more than 5 grants
    (as the processes see them: the margin covers the time from grant to the clock read)."""
    ctx = multiprocessing.get_context("fork")
    grants: multiprocessing.Queue = ctx.Queue()  # type: ignore[type-arg]
    procs = [ctx.Process(target=_hammer, args=(store, grants, 8)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    times = sorted(grants.get(timeout=5) for _ in range(24))
    busiest = max(sum(1 for t in times if start <= t < start + 0.5) for start in times)
    assert busiest <= 5
    assert times[-1] - times[0] >= 2.0  # 24 calls at 5 per 0.5 s: at least 4 full windows


def test_an_unlimited_source_counts_in_memory_until_it_flushes(store: str) -> None:
    clock = Clock()
    gate = _gate(store, Budget(), clock, account="sandbox")
    gate.buffered = True
    other = _gate(store, Budget(), clock, account="sandbox")
    gate.acquire("GET", URL)  # the first call flushes (nothing yet), then counts in memory
    gate.acquire("GET", URL)
    assert daily_usage(get_engine(store)) == []  # nothing written yet
    other.settle(other.acquire("GET", URL), "GET", URL, 429, {"retry-after": "3"})
    clock.now += gate.FLUSH_SECONDS  # the next call flushes, and learns of the other's 429
    gate.acquire("GET", URL)
    assert clock.slept == [pytest.approx(2.5)]
    gate.flush()
    assert daily_usage(get_engine(store))[0]["calls"] == 4
