"""What identity stitching keeps between runs, in the hub's store.

No identifier values are stored here: record keys, profile ids, scores and
identifier types only. The values live in the destination's profile tables,
beside the synced records they came from.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Text
from sqlmodel import Field, SQLModel

from hub.store.models import utcnow

__all__ = [
    "IdentityAssignment",
    "IdentityRedirect",
    "IdentityLinkRow",
    "IdentityRefusalRow",
    "IdentityModelRow",
    "IdentitySplit",
    "IdentityDecision",
    "IdentityRun",
]


class IdentityAssignment(SQLModel, table=True):
    """A record's profile, and a fingerprint of what stitching read from it."""

    __tablename__ = "identity_assignments"
    record_key: str = Field(primary_key=True)
    profile_id: str = Field(index=True)
    fingerprint: str
    confidence: float = 1.0


class IdentityRedirect(SQLModel, table=True):
    """A profile id merged into another: readers holding the old id follow it."""

    __tablename__ = "identity_redirects"
    old_id: str = Field(primary_key=True)
    profile_id: str = Field(index=True)
    run_id: str
    at: datetime = Field(default_factory=utcnow)


class IdentityLinkRow(SQLModel, table=True):
    """A scored pair (at or above the review band): merged, listed for review, or refused."""

    __tablename__ = "identity_links"
    record_a: str = Field(primary_key=True)
    record_b: str = Field(primary_key=True)
    probability: float
    levels: list[int] = Field(sa_column=Column(JSON, nullable=False))
    # merged | review | none (scored, but the records were already one profile or guards refused)
    outcome: str = "none"


class IdentityRefusalRow(SQLModel, table=True):
    """A merge a guard refused in the last run."""

    __tablename__ = "identity_refusals"
    id: int | None = Field(default=None, primary_key=True)
    record_a: str = Field(index=True)
    record_b: str = Field(index=True)
    via: str  # identifier type (its value is not kept here) or "match:<probability>"
    reason: str = Field(sa_column=Column(Text, nullable=False))


class IdentityModelRow(SQLModel, table=True):
    """The trained match weights; an incremental run reuses them, `--full` retrains."""

    __tablename__ = "identity_model"
    id: int = Field(default=1, primary_key=True)
    model: str = Field(sa_column=Column(Text, nullable=False))
    trained_at: datetime = Field(default_factory=utcnow)
    config_hash: str


class IdentitySplit(SQLModel, table=True):
    """An unmerge: these records must never share a profile with the rest of it again."""

    __tablename__ = "identity_splits"
    id: int | None = Field(default=None, primary_key=True)
    split_id: int = Field(index=True)
    record_key: str = Field(index=True)
    side: str  # "out" (the records split off) or "rest"
    profile_id: str
    at: datetime = Field(default_factory=utcnow)


class IdentityDecision(SQLModel, table=True):
    """A person's verdict on a pair: `confirm` merges them, `reject` keeps them apart for good."""

    __tablename__ = "identity_decisions"
    id: int | None = Field(default=None, primary_key=True)
    record_a: str = Field(index=True)
    record_b: str = Field(index=True)
    decision: str  # confirm | reject
    actor: str = "cli"
    at: datetime = Field(default_factory=utcnow)


class IdentityRun(SQLModel, table=True):
    __tablename__ = "identity_runs"
    id: str = Field(primary_key=True)
    mode: str  # full | incremental
    started_at: datetime = Field(default_factory=utcnow)
    ended_at: datetime | None = None
    summary: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
