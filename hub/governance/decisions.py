"""What the govern step keeps in the hub's store: every record a policy held back or withdrew
(record key or profile id, rule, run), and the hash of the policy last run with.

No value of the record is stored: the key is the record's key in its system (`hubspot:101`)
or a profile id, the rule is a name (`consent.email_marketing`), the reason says why in words
without values (`latest consent withdrawn`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import insert, or_
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, col, select

from hub.store.models import utcnow

__all__ = ["GovernanceDecision", "PolicyState", "add_decisions", "decisions_for", "policy_hash_swap"]


class GovernanceDecision(SQLModel, table=True):
    """A record a policy dropped, withdrew or held back in one run."""

    __tablename__ = "governance_decisions"
    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(index=True)
    connection: str
    stream: str
    record_key: str = Field(index=True)
    profile_id: str | None = Field(default=None, index=True)
    rule: str
    action: str  # drop | withdraw
    reason: str
    at: datetime = Field(default_factory=utcnow)


class PolicyState(SQLModel, table=True):
    """The governance block's hash as of the last run, so a change is audited once."""

    __tablename__ = "governance_policy"
    id: int = Field(default=1, primary_key=True)
    policy_hash: str
    at: datetime = Field(default_factory=utcnow)


def add_decisions(engine: Engine, rows: Sequence[dict[str, object]]) -> None:
    if rows:
        with engine.begin() as conn:
            conn.execute(insert(GovernanceDecision), list(rows))


def decisions_for(engine: Engine, key: str, limit: int = 200) -> list[GovernanceDecision]:
    """The decisions about a record key or a profile id, newest first."""
    with Session(engine) as session:
        query = (
            select(GovernanceDecision)
            .where(or_(col(GovernanceDecision.record_key) == key, col(GovernanceDecision.profile_id) == key))
            .order_by(col(GovernanceDecision.id).desc())
            .limit(limit)
        )
        return list(session.exec(query))


def policy_hash_swap(engine: Engine, new_hash: str | None) -> tuple[str | None, bool]:
    """(the hash before, changed?) and store `new_hash` (None: no governance block)."""
    with Session(engine) as session:
        row = session.get(PolicyState, 1)
        old = row.policy_hash if row is not None else None
        stored = new_hash or ""
        if old == stored or (old is None and new_hash is None):
            return old or None, False
        if row is None:
            session.add(PolicyState(policy_hash=stored))
        else:
            row.policy_hash, row.at = stored, utcnow()
            session.add(row)
        session.commit()
        return old or None, True
