"""What write-back keeps in the hub's store: the snapshot of what each destination
accepted, and every record's result.

The destination's match key (an email) is never stored: the snapshot holds a
keyed hash of it, a hash of the payload, and the destination's own id for the
record (what a later delete needs).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, Table, Text, delete, insert, select
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Field, SQLModel

from hub.store.models import utcnow

__all__ = [
    "WritebackSnapshot",
    "WritebackResult",
    "SentRecord",
    "load_snapshot",
    "remote_ids",
    "iter_snapshot",
    "save_snapshot",
    "drop_snapshot",
    "add_results",
    "list_results",
]


class WritebackSnapshot(SQLModel, table=True):
    """A record the destination accepted, as it was sent."""

    __tablename__ = "writeback_snapshots"
    destination: str = Field(primary_key=True)  # "<connection>/<stream>"
    key_hash: str = Field(primary_key=True)
    payload_hash: str
    record_ref: str
    remote_id: str | None = None
    run_id: str
    sent_at: datetime = Field(default_factory=utcnow)


class WritebackResult(SQLModel, table=True):
    """One record's outcome in one run: accepted, or rejected with the API's reason."""

    __tablename__ = "writeback_results"
    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(index=True)
    connection: str = Field(index=True)
    stream: str
    record_ref: str
    action: str  # create | update | delete
    status: str  # accepted | rejected
    reason: str | None = Field(default=None, sa_column=Column(Text))
    remote_id: str | None = None
    at: datetime = Field(default_factory=utcnow)


@dataclass(frozen=True)
class SentRecord:
    key_hash: str
    record_ref: str
    remote_id: str | None


def _table(model: type[SQLModel]) -> Table:
    # SQLModel sets `__table__` on every table=True class; its stubs do not declare it.
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table


def load_snapshot(engine: Engine, destination: str) -> dict[str, str]:
    """key hash -> payload hash: all the diff needs, kept small (1M entries ~ 200 MB)."""
    t = _table(WritebackSnapshot)
    query = select(t.c.key_hash, t.c.payload_hash).where(t.c.destination == destination)
    with engine.connect() as conn:
        return {k: p for k, p in conn.execute(query)}


def remote_ids(engine: Engine, destination: str, key_hashes: Sequence[str]) -> dict[str, str | None]:
    """The destination's ids of these records, as the snapshot keeps them."""
    t = _table(WritebackSnapshot)
    found: dict[str, str | None] = {}
    with engine.connect() as conn:
        for i in range(0, len(key_hashes), 500):
            query = select(t.c.key_hash, t.c.remote_id).where(
                t.c.destination == destination, t.c.key_hash.in_(key_hashes[i : i + 500])
            )
            found.update({k: rid for k, rid in conn.execute(query)})
    return found


def iter_snapshot(engine: Engine, destination: str) -> Iterator[SentRecord]:
    t = _table(WritebackSnapshot)
    query = select(t.c.key_hash, t.c.record_ref, t.c.remote_id).where(t.c.destination == destination)
    with engine.connect() as conn:
        for k, ref, rid in conn.execute(query):
            yield SentRecord(k, ref, rid)


def save_snapshot(
    engine: Engine,
    destination: str,
    run_id: str,
    rows: Sequence[tuple[str, str, str, str | None]],
    results: Sequence[dict[str, object]],
) -> None:
    """Record accepted (key_hash, payload_hash, record_ref, remote_id) and the batch's
    results in one transaction: the snapshot never claims more than the results show."""
    t = _table(WritebackSnapshot)
    with engine.begin() as conn:
        if rows:
            _delete_keys(conn, destination, [r[0] for r in rows])
            now = utcnow()
            conn.execute(
                insert(t),
                [
                    {
                        "destination": destination,
                        "key_hash": k,
                        "payload_hash": p,
                        "record_ref": ref,
                        "remote_id": rid,
                        "run_id": run_id,
                        "sent_at": now,
                    }
                    for k, p, ref, rid in rows
                ],
            )
        if results:
            conn.execute(insert(_table(WritebackResult)), list(results))


def drop_snapshot(
    engine: Engine, destination: str, key_hashes: Iterable[str], results: Sequence[dict[str, object]]
) -> None:
    """Forget deleted records, and record the deletes' results, in one transaction."""
    with engine.begin() as conn:
        _delete_keys(conn, destination, list(key_hashes))
        if results:
            conn.execute(insert(_table(WritebackResult)), list(results))


def _delete_keys(conn: Connection, destination: str, keys: list[str]) -> None:
    t = _table(WritebackSnapshot)
    for i in range(0, len(keys), 500):  # stays under every database's bound-parameter limit
        conn.execute(delete(t).where(t.c.destination == destination, t.c.key_hash.in_(keys[i : i + 500])))


def add_results(engine: Engine, results: Sequence[dict[str, object]]) -> None:
    if results:
        with engine.begin() as conn:
            conn.execute(insert(_table(WritebackResult)), list(results))


def list_results(engine: Engine, run_id: str, status: str | None = None) -> list[WritebackResult]:
    t = _table(WritebackResult)
    query = select(t).where(t.c.run_id == run_id).order_by(t.c.id)
    if status:
        query = query.where(t.c.status == status)
    with engine.connect() as conn:
        return [WritebackResult.model_validate(dict(row._mapping)) for row in conn.execute(query)]
