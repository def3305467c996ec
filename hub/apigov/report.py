"""What the ledger says about one run's stream, for its summary and audit entries, and the
audit of refused requests (recorded by whichever process refused them, audited once here)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from hub.audit import AuditLog

__all__ = ["stream_usage", "audit_refusals", "daily_usage", "failure_reason"]

_COUNTS = ("calls", "waits", "wait_seconds", "throttled", "refused", "quota_stops")


def stream_usage(engine: Engine, run_id: str, stream: str) -> dict[str, Any] | None:
    """The stream's API counts over its accounts (None when it called no API), with the
    quota stop's resume time and the first refusal's reason."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                f"SELECT account, {', '.join(_COUNTS)}, resume_at FROM api_run_usage "
                "WHERE run_id = :r AND stream = :s ORDER BY account"
            ),
            {"r": run_id, "s": stream},
        ).all()
        refusal = conn.execute(
            text("SELECT reason FROM api_refusal WHERE run_id = :r AND stream = :s ORDER BY id LIMIT 1"),
            {"r": run_id, "s": stream},
        ).scalar()
    if not rows:
        return None
    usage: dict[str, Any] = {name: sum(getattr(r, name) for r in rows) for name in _COUNTS}
    usage["wait_seconds"] = round(usage["wait_seconds"], 3)
    usage["accounts"] = [r.account for r in rows]
    usage["resume_at"] = max((r.resume_at for r in rows if r.resume_at), default=None)
    usage["refusal"] = refusal
    return usage


def failure_reason(usage: dict[str, Any] | None) -> str | None:
    """Why a failed stream failed, when the ledger knows (a quota stop, a refused request):
    the source process only saw an exception by its class name."""
    if usage is None:
        return None
    if usage["resume_at"]:
        return (
            f"stopped at the last checkpoint: the daily API quota of {', '.join(usage['accounts'])} "
            f"is used up; run again after {usage['resume_at']} (UTC) to resume (`crossdock api usage`)"
        )
    reason: str | None = usage["refusal"]
    return reason


def audit_refusals(engine: Engine, audit: AuditLog) -> int:
    """One `api.refused` audit entry per refusal not audited yet; returns how many."""
    with engine.connect() as conn:
        pending = conn.execute(
            text(
                "SELECT id, run_id, stream, connection, account, rule, method, host, path "
                "FROM api_refusal WHERE audited = :f ORDER BY id"
            ),
            {"f": False},
        ).all()
    done = 0
    for row in pending:
        with engine.begin() as conn:  # claim it first: two processes may drain at once
            claimed = conn.execute(
                text("UPDATE api_refusal SET audited = :t WHERE id = :i AND audited = :f"),
                {"t": True, "f": False, "i": row.id},
            ).rowcount
        if claimed:
            audit.append(
                "api.refused",
                target=f"{row.connection}/{row.stream}" if row.stream else row.connection,
                details={
                    "run_id": row.run_id or None,
                    "account": row.account,
                    "rule": row.rule,
                    "method": row.method,
                    "host": row.host,
                    "path": row.path,
                },
            )
            done += 1
    return done


def daily_usage(engine: Engine, since: str | None = None, account: str | None = None) -> list[dict[str, Any]]:
    """Rows of `crossdock api usage`: per account and UTC day, newest day first."""
    where, params = [], {}
    if since:
        where.append("day >= :since")
        params["since"] = since
    if account:
        where.append("account = :account")
        params["account"] = account
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                f"SELECT account, day, daily_limit, {', '.join(_COUNTS)} FROM api_usage {clause} "
                "ORDER BY day DESC, account"
            ),
            params,
        ).all()
    return [
        {
            "account": r.account,
            "day": r.day,
            "daily_limit": r.daily_limit,
            **{
                name: (round(getattr(r, name), 3) if name == "wait_seconds" else getattr(r, name))
                for name in _COUNTS
            },
        }
        for r in rows
    ]
