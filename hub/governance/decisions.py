"""What the govern step keeps in the hub's store: every record a policy held back or withdrew
(record key or profile id, rule, run), the hash of the policy last run with, and per run and
stream the plan the PII policy applied (`GovernancePlan`: which field, which action, which
rule, under which policy hash). A PII change is the same for every row of a stream in a run,
so it is stored once per run and stream, not per record: `explain-decision` tells what was
done to one record from the plan of its run and the record's presence in that run's output.

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

__all__ = [
    "GovernanceDecision",
    "GovernancePlan",
    "PolicyState",
    "add_decisions",
    "add_plan",
    "decisions_for",
    "plans_for",
    "policy_hash_swap",
]


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


class GovernancePlan(SQLModel, table=True):
    """What the govern step applied to a stream in one run: its destination's purpose and region,
    the policy's hash, and the PII rules (`[[field, action, rule], ...]` as JSON: the same for
    every row of the stream in that run). One row per run and stream."""

    __tablename__ = "governance_plans"
    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(index=True)
    connection: str
    stream: str
    entity: str
    purpose: str | None = None
    region: str | None = None
    policy_hash: str | None = None
    key_fields: str  # JSON list: the entity's key, as the decisions' record keys join it
    pii_rules: str  # JSON list of [field, action, rule]; keep is listed too
    destination_table: str | None = None  # a SQL destination's table (to find the record in)
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


def add_plan(engine: Engine, plan: dict[str, object]) -> None:
    with engine.begin() as conn:
        conn.execute(insert(GovernancePlan), [plan])


def decisions_for(
    engine: Engine, key: str, limit: int = 200, run_id: str | None = None
) -> list[GovernanceDecision]:
    """The decisions about a record key or a profile id (of one run), newest first."""
    with Session(engine) as session:
        query = select(GovernanceDecision).where(
            or_(col(GovernanceDecision.record_key) == key, col(GovernanceDecision.profile_id) == key)
        )
        if run_id is not None:
            query = query.where(col(GovernanceDecision.run_id) == run_id)
        query = query.order_by(col(GovernanceDecision.id).desc()).limit(limit)
        return list(session.exec(query))


def plans_for(engine: Engine, run_id: str | None = None, limit: int = 20) -> list[GovernancePlan]:
    """The govern step's plans of one run, or the newest `limit` of every run, newest first."""
    with Session(engine) as session:
        query = select(GovernancePlan)
        if run_id is not None:
            query = query.where(col(GovernancePlan.run_id) == run_id)
        return list(session.exec(query.order_by(col(GovernancePlan.id).desc()).limit(limit)))


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
