"""The budget's arithmetic, one store transaction per call, shared by every process.

SQLite takes its write lock first (`BEGIN IMMEDIATE`), PostgreSQL a transaction-scoped
advisory lock on the account, so two processes never both see room for one last call.
Windows are sliding logs of granted calls (exact: a fixed window would let 2x through at
its edge); the bucket, the pause and the in-flight calls live on the account's row.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from hub.apigov.budget import Budget

__all__ = ["Grant", "RunKey", "take", "add", "settle", "refuse", "day_of", "next_day"]

# A call in flight is released by its answer; one whose process died frees its slot after this.
_IN_FLIGHT_LEASE = 300.0


@dataclass(frozen=True)
class RunKey:
    run_id: str
    stream: str


@dataclass(frozen=True)
class Grant:
    """Either granted (`wait` 0; `slot` names an in-flight row to release), or wait `wait`
    seconds and ask again, or the daily quota is spent until `quota_until`."""

    wait: float = 0.0
    slot: int | None = None
    quota_until: datetime | None = None


def day_of(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d")


def next_day(now: float) -> datetime:
    today = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today + timedelta(days=1)


@contextmanager
def _locked(engine: Engine, account: str) -> Iterator[Connection]:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("BEGIN")
            # A crash may lose the last few counts, never a grant to another process: no
            # need to wait for the WAL flush on each call (the lock is what keeps the budget).
            conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
            key = int.from_bytes(hashlib.sha256(account.encode()).digest()[:8], "big", signed=True)
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            conn.execute(
                text(
                    "INSERT INTO api_account_state (account, paused_until, bucket_level, bucket_at) "
                    "VALUES (:a, 0, 0, 0) ON CONFLICT (account) DO NOTHING"
                ),
                {"a": account},
            )
            yield conn
        except BaseException:
            conn.exec_driver_sql("ROLLBACK")
            raise
        conn.exec_driver_sql("COMMIT")


def _count(
    conn: Connection, account: str, run: RunKey | None, day: str, limit: int | None, **add: float
) -> None:
    """Add to the day's and the run's counters (upserts)."""

    def sets(table: str) -> str:
        return ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in add)

    zero = {"calls": 0, "waits": 0, "wait_seconds": 0.0, "throttled": 0, "refused": 0, "quota_stops": 0}
    conn.execute(
        text(
            f"INSERT INTO api_usage (account, day, daily_limit, {', '.join(zero)}) VALUES (:a, :d, :lim, "
            f"{', '.join(':' + c for c in zero)}) ON CONFLICT (account, day) "
            f"DO UPDATE SET {sets('api_usage')}, "
            "daily_limit = COALESCE(excluded.daily_limit, api_usage.daily_limit)"
        ),
        {"a": account, "d": day, "lim": limit, **zero, **add},
    )
    if run is not None:
        conn.execute(
            text(
                f"INSERT INTO api_run_usage (run_id, stream, account, {', '.join(zero)}) VALUES "
                f"(:r, :s, :a, {', '.join(':' + c for c in zero)}) "
                f"ON CONFLICT (run_id, stream, account) DO UPDATE SET {sets('api_run_usage')}"
            ),
            {"r": run.run_id, "s": run.stream, "a": account, **zero, **add},
        )


def take(
    engine: Engine,
    account: str,
    budget: Budget,
    path: str,
    *,
    run: RunKey | None,
    waited: float,
    clock: Callable[[], float],
) -> Grant:
    """One call's worth of the budget, or how long to wait for it. `waited`: the seconds this
    call has waited so far (counted once it is granted). The time is read once the lock is
    held: a grant stamped before waiting for the lock would sit in the past of the log."""
    with _locked(engine, account) as conn:
        now = clock()
        day = day_of(now)
        paused_until, level, level_at = conn.execute(
            text("SELECT paused_until, bucket_level, bucket_at FROM api_account_state WHERE account = :a"),
            {"a": account},
        ).one()
        if budget.daily is not None:
            used = conn.execute(
                text("SELECT calls FROM api_usage WHERE account = :a AND day = :d"), {"a": account, "d": day}
            ).scalar()
            if (used or 0) >= budget.daily:
                until = next_day(now)
                _count(conn, account, run, day, budget.daily, quota_stops=1)
                if run is not None:
                    conn.execute(
                        text(
                            "UPDATE api_run_usage SET resume_at = :t WHERE run_id = :r AND stream = :s "
                            "AND account = :a"
                        ),
                        {"t": until.isoformat(), "r": run.run_id, "s": run.stream, "a": account},
                    )
                return Grant(quota_until=until)
        wait = max(0.0, paused_until - now)
        windows = [(i, w) for i, w in enumerate(budget.windows) if w.applies_to(path)]
        for i, window in windows:
            span = window.seconds * (1 + budget.margin)
            oldest_blocking = conn.execute(
                text(
                    "SELECT at FROM api_call WHERE account = :a AND win = :w AND at > :since "
                    "ORDER BY at DESC LIMIT 1 OFFSET :n"
                ),
                {"a": account, "w": i, "since": now - span, "n": window.calls - 1},
            ).scalar()
            if oldest_blocking is not None:  # `calls` granted within the span already
                wait = max(wait, oldest_blocking + span - now)
        if budget.bucket is not None:
            level = max(0.0, level - (now - level_at) * budget.bucket.leak_per_second)
            if level + 1 > budget.bucket.size:
                wait = max(wait, (level + 1 - budget.bucket.size) / budget.bucket.leak_per_second)
        if budget.concurrent is not None:
            in_flight = conn.execute(
                text("SELECT count(*) FROM api_call WHERE account = :a AND win = -1 AND at > :since"),
                {"a": account, "since": now - _IN_FLIGHT_LEASE},
            ).scalar_one()
            if in_flight >= budget.concurrent:
                wait = max(wait, 0.02)  # a slot frees when an answer comes; look again soon
        if wait > 0:
            return Grant(wait=wait)
        for i, _ in windows:
            conn.execute(
                text("INSERT INTO api_call (account, win, at) VALUES (:a, :w, :t)"),
                {"a": account, "w": i, "t": now},
            )
        if budget.windows:
            longest = max(w.seconds for w in budget.windows) * (1 + budget.margin)
            conn.execute(
                text("DELETE FROM api_call WHERE account = :a AND win >= 0 AND at < :t"),
                {"a": account, "t": now - longest},
            )
        slot = None
        if budget.concurrent is not None:
            slot = conn.execute(
                text("INSERT INTO api_call (account, win, at) VALUES (:a, -1, :t) RETURNING id"),
                {"a": account, "t": now},
            ).scalar_one()
        if budget.bucket is not None:
            conn.execute(
                text("UPDATE api_account_state SET bucket_level = :l, bucket_at = :t WHERE account = :a"),
                {"l": level + 1, "t": now, "a": account},
            )
        _count(
            conn, account, run, day, budget.daily, calls=1, waits=1 if waited > 0 else 0, wait_seconds=waited
        )
        return Grant(slot=slot)


def add(engine: Engine, account: str, run: RunKey | None, now: float, calls: int) -> float:
    """Count `calls` made on an account without limits (no grant needed: see ApiGate.flush);
    returns the account's pause (after a 429 of any process), as a time."""
    with _locked(engine, account) as conn:
        if calls:
            _count(conn, account, run, day_of(now), None, calls=calls)
        paused: float = conn.execute(
            text("SELECT paused_until FROM api_account_state WHERE account = :a"), {"a": account}
        ).scalar_one()
        return paused


def settle(
    engine: Engine,
    account: str,
    budget: Budget,
    slot: int | None,
    status: int | None,
    headers: Mapping[str, str],
    *,
    run: RunKey | None,
    now: float,
) -> None:
    """What the answer tells every process of the account: a 429 pauses it for Retry-After,
    the bucket's level and the usage headers are read back; the in-flight slot is freed."""
    pause = 0.0
    if status == 429:
        pause = _seconds(headers.get("retry-after")) or 1.0
    usage = _usage_pause(budget, headers)
    pause = max(pause, usage)
    bucket_used = _bucket_used(budget, headers)
    if slot is None and status != 429 and not pause and bucket_used is None:
        return  # the common case: nothing to write
    with _locked(engine, account) as conn:
        if slot is not None:
            conn.execute(text("DELETE FROM api_call WHERE id = :i"), {"i": slot})
        if pause:
            conn.execute(
                text(
                    "UPDATE api_account_state SET paused_until = :p WHERE account = :a AND paused_until < :p"
                ),
                {"p": now + pause, "a": account},
            )
        if bucket_used is not None:  # the API's count wins when it is higher (another app's calls)
            conn.execute(
                text(
                    "UPDATE api_account_state SET bucket_level = :l, bucket_at = :t "
                    "WHERE account = :a AND bucket_level - (:t - bucket_at) * :leak < :l"
                ),
                {
                    "l": float(bucket_used),
                    "t": now,
                    "a": account,
                    "leak": budget.bucket.leak_per_second if budget.bucket else 1.0,
                },
            )
        if status == 429:
            _count(conn, account, run, day_of(now), budget.daily, throttled=1)


def refuse(engine: Engine, account: str, run: RunKey | None, now: float, row: dict[str, str]) -> None:
    """Record a refused request (audited later, once, by hub/apigov/report.py)."""
    with _locked(engine, account) as conn:
        conn.execute(
            text(
                "INSERT INTO api_refusal (at, run_id, stream, connection, account, rule, method, host, path, "
                "reason, audited) VALUES (:at, :run_id, :stream, :connection, :account, :rule, :method, "
                ":host, :path, :reason, :audited)"
            ),
            {
                "at": datetime.fromtimestamp(now, UTC),
                "run_id": run.run_id if run else "",
                "stream": run.stream if run else "",
                "account": account,
                "audited": False,
                **row,
            },
        )
        _count(conn, account, run, day_of(now), None, refused=1)


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def _bucket_used(budget: Budget, headers: Mapping[str, str]) -> int | None:
    if budget.bucket is None or budget.bucket.header is None:
        return None
    value = headers.get(budget.bucket.header.lower()) or headers.get(budget.bucket.header)
    used, _, _size = (value or "").partition("/")
    return int(used) if used.strip().isdigit() else None


def _usage_pause(budget: Budget, headers: Mapping[str, str]) -> float:
    """Facebook's usage headers: JSON percentages (per app, or per business id in a list);
    `estimated_time_to_regain_access` (minutes) wins when the API gives it."""
    pause = 0.0
    for name in budget.usage_headers:
        raw = headers.get(name.lower()) or headers.get(name)
        if not raw:
            continue
        try:
            data = json.loads(raw)
        except ValueError:
            continue
        entries = (
            [e for v in data.values() for e in v]
            if isinstance(data, dict) and all(isinstance(v, list) for v in data.values())
            else [data]
        )
        for entry in entries:
            if not isinstance(entry, dict):
                continue
            regain = entry.get("estimated_time_to_regain_access")
            if isinstance(regain, int | float) and regain > 0:
                pause = max(pause, regain * 60.0)
            percents = [
                v
                for k, v in entry.items()
                if k != "estimated_time_to_regain_access" and isinstance(v, int | float)
            ]
            if percents and max(percents) >= budget.usage_pause_at:
                pause = max(pause, budget.usage_pause_seconds)
    return pause
