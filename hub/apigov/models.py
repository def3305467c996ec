"""The store's API ledger: what each account spent, where it waits, what was refused.

Every process of every run and write-back of an account reads and writes these rows inside
one store transaction per call (hub/apigov/ledger.py), so they share one budget.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from hub.store.models import utcnow

__all__ = ["ApiAccountState", "ApiCall", "ApiUsage", "ApiRunUsage", "ApiRefusal"]


class ApiAccountState(SQLModel, table=True):
    """One row per account: the lock row, a pause every process honours (after a 429 or a
    usage header) and the leaky bucket's level."""

    __tablename__ = "api_account_state"
    account: str = Field(primary_key=True)
    paused_until: float = 0.0
    bucket_level: float = 0.0
    bucket_at: float = 0.0


class ApiCall(SQLModel, table=True):
    """A granted call, once per window it counts against (`win` >= 0), or in flight (-1)."""

    __tablename__ = "api_call"
    __table_args__ = (Index("ix_api_call_account_win_at", "account", "win", "at"),)
    id: int | None = Field(default=None, primary_key=True)
    account: str
    win: int
    at: float


class _Counts(SQLModel):
    calls: int = 0
    waits: int = 0
    wait_seconds: float = 0.0
    throttled: int = 0  # answers 429 from the API
    refused: int = 0  # egress refusals: nothing was sent
    quota_stops: int = 0


class ApiUsage(_Counts, table=True):
    """Per account and UTC day (`crossdock api usage`)."""

    __tablename__ = "api_usage"
    account: str = Field(primary_key=True)
    day: str = Field(primary_key=True)  # YYYY-MM-DD, UTC
    daily_limit: int | None = None


class ApiRunUsage(_Counts, table=True):
    """Per run, stream and account: what the run summary and its audit entry report."""

    __tablename__ = "api_run_usage"
    run_id: str = Field(primary_key=True)
    stream: str = Field(primary_key=True)
    account: str = Field(primary_key=True)
    resume_at: str | None = None  # set by a quota stop: when the account has calls again


class ApiRefusal(SQLModel, table=True):
    """A request refused before any byte was sent; audited once (`audited`)."""

    __tablename__ = "api_refusal"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow)
    run_id: str = ""
    stream: str = ""
    connection: str = ""
    account: str = ""
    rule: str  # host, redirect or method
    method: str
    host: str
    path: str  # without the query string
    reason: str
    audited: bool = False
