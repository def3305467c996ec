"""The hub's own metadata tables (sqlmodel): connections, runs, state, dead letters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, Text
from sqlmodel import Field, SQLModel

__all__ = ["ConnectionRecord", "SyncRun", "StreamRun", "StreamState", "DeadLetter", "RunLease", "utcnow"]


def utcnow() -> datetime:
    return datetime.now(UTC)


class ConnectionRecord(SQLModel, table=True):
    """A connection as last seen in crossdock.yaml (hash lets us notice edits)."""

    __tablename__ = "connections"
    name: str = Field(primary_key=True)
    source_connector: str
    destination_type: str
    config_hash: str
    # stream -> version (content hash) of the mapping it used last
    mapping_versions: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow)


class SyncRun(SQLModel, table=True):
    __tablename__ = "sync_runs"
    id: str = Field(primary_key=True)
    connection: str = Field(index=True)
    # running | succeeded | partial | failed | abandoned (its process died: hub/store/locks.py)
    status: str = "running"
    full_refresh: bool = False
    started_at: datetime = Field(default_factory=utcnow)
    ended_at: datetime | None = None
    records_read: int = 0
    records_written: int = 0
    records_dead_lettered: int = 0
    error: str | None = Field(default=None, sa_column=Column(Text))


class StreamRun(SQLModel, table=True):
    """Per-stream counts and outcome of one run."""

    __tablename__ = "stream_runs"
    run_id: str = Field(primary_key=True, foreign_key="sync_runs.id")
    stream: str = Field(primary_key=True)
    # running | succeeded | failed | abandoned
    status: str = "running"
    started_at: datetime = Field(default_factory=utcnow)
    ended_at: datetime | None = None
    records_read: int = 0
    records_written: int = 0
    records_dead_lettered: int = 0
    state: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    error: str | None = Field(default=None, sa_column=Column(Text))


class StreamState(SQLModel, table=True):
    """The source state saved after the destination committed the records before it."""

    __tablename__ = "stream_state"
    connection: str = Field(primary_key=True)
    stream: str = Field(primary_key=True)
    state: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    run_id: str | None = None
    updated_at: datetime = Field(default_factory=utcnow)
    # Which destination (table) the state's records went to (hub/pipeline/state_scope.py); a
    # state is only good for that table. NULL: saved before the hub recorded it (adopted by
    # the first run that finds its table present).
    destination: str | None = None


class DeadLetter(SQLModel, table=True):
    """A record that could not be processed, with the reason; never dropped silently."""

    __tablename__ = "dead_letters"
    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(index=True)
    connection: str = Field(index=True)
    stream: str
    reason: str = Field(sa_column=Column(Text, nullable=False))
    record: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class RunLease(SQLModel, table=True):
    """Who is syncing a connection now: one row per connection while a run holds it.

    Times are epoch seconds (float), not datetimes: the holder's liveness is judged by
    comparing them, and a float compares the same on SQLite and PostgreSQL whatever the
    session's time zone.
    """

    __tablename__ = "run_leases"
    connection: str = Field(primary_key=True)
    run_id: str
    host: str
    pid: int
    since: float
    heartbeat: float
