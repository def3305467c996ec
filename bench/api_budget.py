"""Overhead of the shared API budget per call: gate.acquire + settle on the hub store.

    .venv/bin/python bench/api_budget.py [--calls 3000] [--store sqlite|postgres]

Prints calls/s and microseconds per call for an account with no limit (the daily counter
only), one with a 10,000-per-second window and a daily quota, and for 2 processes sharing one
account. No HTTP: this is what the budget adds to each request.
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from pathlib import Path

import hub.apigov.models  # noqa: F401 - registers the ledger's tables
from hub.apigov import ApiGate, Budget, EgressRules, RunKey, Window
from hub.store import create_db_and_tables, get_engine

URL = "https://api.hubapi.com/crm/v3/objects/contacts"
RULES = EgressRules(connection="bench", side="read", hosts=("api.hubapi.com",))


def _run(url: str, budget: Budget, calls: int, account: str, buffered: bool = False) -> float:
    engine = get_engine(url)
    engine.dispose(close=False)
    run = RunKey("bench", account)
    gate = ApiGate(account=account, budget=budget, rules=RULES, engine=engine, run=run, buffered=buffered)
    started = time.perf_counter()
    for _ in range(calls):
        ticket = gate.acquire("GET", URL)
        gate.settle(ticket, "GET", URL, 200, {})
    gate.flush()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--store", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    url = (
        f"sqlite:///{folder / 'hub.db'}"
        if args.store == "sqlite"
        else "postgresql://postgres@127.0.0.1:5432/test"
    )
    create_db_and_tables(get_engine(url))
    cases = {
        "no limit (daily counter only)": Budget(),
        "window 10000/s + daily quota": Budget(windows=[Window(calls=10_000, seconds=1)], daily=10_000_000),
    }
    seconds = _run(url, Budget(), args.calls, f"bench-{time.time_ns()}", buffered=True)
    per_call = seconds / args.calls * 1e6
    rate = args.calls / seconds
    print(f"{args.store} source, no limit (counted in memory): {rate:,.0f} calls/s, {per_call:,.1f} us/call")
    for name, budget in cases.items():
        seconds = _run(url, budget, args.calls, f"bench-{time.time_ns()}")
        per_call = seconds / args.calls * 1e6
        print(f"{args.store} {name}: {args.calls / seconds:,.0f} calls/s, {per_call:,.0f} us/call")
    ctx = multiprocessing.get_context("fork")
    account = f"bench-shared-{time.time_ns()}"
    started = time.perf_counter()
    procs = [
        ctx.Process(target=_run, args=(url, cases["window 10000/s + daily quota"], args.calls, account))
        for _ in range(2)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    seconds = time.perf_counter() - started
    print(f"{args.store} 2 processes, one account: {2 * args.calls / seconds:,.0f} calls/s together")


if __name__ == "__main__":
    main()
