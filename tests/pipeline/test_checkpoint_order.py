"""The pipeline's ordering guarantee, with fakes at the edges: state is saved only
after the destination committed every record before it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlmodel import Session, select

from hub.audit import AuditLog
from hub.errors import FatalError
from hub.pipeline import StreamJob, sync_stream
from hub.secrets import Keyring
from hub.sources import RECORD, STATE, SourceEvent
from hub.store import (
    DeadLetter,
    StreamRun,
    StreamState,
    create_db_and_tables,
    get_engine,
    runs,
)
from hub.workspace import StreamConfig


def record(i: int | str) -> SourceEvent:
    return RECORD, {"id": str(i)}


def state(cursor: int) -> SourceEvent:
    return STATE, {
        "type": "STREAM",
        "stream": {"stream_descriptor": {"name": "people"}, "stream_state": {"cursor": cursor}},
    }


@dataclass
class Journal:
    events: list[str] = field(default_factory=list)


class FakeSource:
    def __init__(self, messages: list[SourceEvent], fail_after: bool, journal: Journal) -> None:
        self.messages, self.fail_after, self.journal = messages, fail_after, journal

    def discover(self) -> list[dict[str, Any]]:
        return []  # no declared schema: no drift check

    def read(self, stream: str, *, incremental: bool, state: dict[str, Any] | None) -> Iterator[SourceEvent]:
        self.journal.events.append(f"read from {state and state['stream']['stream_state']}")
        yield from self.messages
        if self.fail_after:
            raise FatalError("stream `people` failed in the source: boom")


class FakeMapping:
    version, key = "v1", ("source_id",)

    def columns(self) -> dict[str, str]:
        return {"source_id": "string"}

    def mask_pii(self, record: dict[str, Any], key: bytes) -> dict[str, Any]:
        return record

    def map_batch(self, records: list[dict[str, Any]]) -> Any:
        rows = [{"source_id": r["id"]} for r in records if r["id"] != "bad"]
        dead = [(r, "field `source_id`: bad id") for r in records if r["id"] == "bad"]
        return type("Batch", (), {"rows": rows, "dead": dead, "filtered": 0})()


class FakeDestination:
    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    def prepare(self, spec: Any, mode: str) -> None:
        self.journal.events.append("prepare")

    def write(self, spec: Any, mode: str, rows: Sequence[dict[str, Any]]) -> int:
        self.journal.events.append("write " + ",".join(r["source_id"] for r in rows))
        return len(rows)

    def finish(self, spec: Any, mode: str) -> None:
        self.journal.events.append("finish")

    def abort(self, spec: Any, mode: str) -> None:
        self.journal.events.append("abort")

    def close(self) -> None:
        pass

    def report(self) -> None:
        return None

    def take_refused(self) -> list[tuple[int, str]]:
        return []

    def hold_deletes(self, reason: str) -> None:
        pass


@pytest.fixture
def engine(tmp_path):  # type: ignore[no-untyped-def]
    engine = get_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    create_db_and_tables(engine)
    runs.start_run(engine, "r1", "conn", False)
    return engine


@pytest.fixture
def journal(monkeypatch: pytest.MonkeyPatch) -> Journal:
    """Records reads, writes and state saves in the order they happen."""
    journal, original_save = Journal(), runs.save_state

    def save(*args: Any, **kwargs: Any) -> None:
        journal.events.append(f"save {args[3]['stream']['stream_state']}")
        original_save(*args, **kwargs)

    monkeypatch.setattr(runs, "save_state", save)
    return journal


def make_job(
    engine: Any,
    messages: list[SourceEvent],
    journal: Journal,
    fail_after: bool = False,
    batch_size: int = 100,
) -> StreamJob:
    return StreamJob(
        run_id="r1",
        connection="conn",
        stream="people",
        config=StreamConfig(mapping="x/y", batch_size=batch_size),
        table="people",
        source=FakeSource(messages, fail_after, journal),  # type: ignore[arg-type]
        mapping=FakeMapping(),  # type: ignore[arg-type]
        open_destination=lambda: FakeDestination(journal),  # type: ignore[arg-type,return-value]
        engine=engine,
        audit=AuditLog(engine, Keyring({1: b"k" * 32})),
        full_refresh=False,
        pseudonym_key=b"p" * 32,
    )


def test_state_is_saved_only_after_the_records_before_it_are_written(engine, journal) -> None:  # type: ignore[no-untyped-def]
    job = make_job(engine, [record(1), record(2), state(2), record(3), state(3)], journal)
    info = sync_stream(job)
    assert journal.events == [
        "prepare",
        "read from None",
        "write 1,2",
        "save {'cursor': 2}",
        "write 3",
        "save {'cursor': 3}",
        "finish",
    ]
    assert (info.status, info.read, info.written) == ("succeeded", 3, 3)


def test_a_failure_keeps_the_last_checkpoint_and_the_next_run_resumes_from_it(engine, journal) -> None:  # type: ignore[no-untyped-def]
    job = make_job(engine, [record(1), state(1), record(2)], journal, fail_after=True)
    with pytest.raises(FatalError, match="boom"):
        sync_stream(job)
    # record 2 came after the last state and is not committed: the next run re-reads it
    assert journal.events[-2:] == ["save {'cursor': 1}", "abort"]
    with Session(engine) as session:
        saved = session.get_one(StreamState, ("conn", "people"))
        row = session.exec(select(StreamRun)).one()
    assert saved.state["stream"]["stream_state"] == {"cursor": 1}
    assert (row.status, row.records_read, row.records_written) == ("failed", 2, 1)
    assert "boom" in (row.error or "")

    journal.events.clear()
    runs.start_run(engine, "r2", "conn", False)
    job2 = make_job(engine, [record(2), state(2)], journal)
    job2.run_id = "r2"
    sync_stream(job2)
    assert journal.events[:2] == ["prepare", "read from {'cursor': 1}"]


def test_unmappable_records_are_dead_lettered_and_counted(engine, journal) -> None:  # type: ignore[no-untyped-def]
    info = sync_stream(make_job(engine, [record(1), record("bad"), state(1)], journal))
    assert (info.read, info.written, info.dead_lettered) == (2, 1, 1)
    with Session(engine) as session:
        letters = session.exec(select(DeadLetter)).all()
    assert [(d.stream, d.record, d.reason) for d in letters] == [
        ("people", {"id": "bad"}, "field `source_id`: bad id")
    ]


def test_batches_commit_at_batch_size(engine, journal) -> None:  # type: ignore[no-untyped-def]
    sync_stream(make_job(engine, [record(i) for i in range(5)] + [state(5)], journal, batch_size=2))
    assert [e for e in journal.events if e.startswith("write")] == ["write 0,1", "write 2,3", "write 4"]


class RefusingDestination(FakeDestination):
    """Refuses the row of record `nul`, as a SQL destination does after bisecting its batch."""

    def __init__(self, journal: Journal, error: BaseException | None = None) -> None:
        super().__init__(journal)
        self.error, self._refused = error, []  # type: ignore[var-annotated]

    def write(self, spec: Any, mode: str, rows: Sequence[dict[str, Any]]) -> int:
        if self.error is not None:
            raise self.error
        kept = [r for r in rows if r["source_id"] != "nul"]
        self._refused = [
            (i, f"refused: NUL byte; record key source_id='{r['source_id']}'")
            for i, r in enumerate(rows)
            if r["source_id"] == "nul"
        ]
        return super().write(spec, mode, kept)

    def take_refused(self) -> list[tuple[int, str]]:
        refused, self._refused = self._refused, []
        return refused


@pytest.fixture
def dead_journal(journal: Journal, monkeypatch: pytest.MonkeyPatch) -> Journal:
    original = runs.add_dead_letters

    def add(engine: Any, run_id: str, connection: str, stream: str, dead: Any) -> None:
        journal.events.append("dead " + ",".join(record["id"] for record, _ in dead))
        original(engine, run_id, connection, stream, dead)

    monkeypatch.setattr(runs, "add_dead_letters", add)
    return journal


def job_with(
    engine: Any, messages: list[SourceEvent], journal: Journal, destination: FakeDestination
) -> StreamJob:
    job = make_job(engine, messages, journal)
    job.open_destination = lambda: destination  # type: ignore[assignment,return-value]
    return job


def test_a_refused_row_is_dead_lettered_before_the_state_after_it_is_saved(engine, dead_journal) -> None:  # type: ignore[no-untyped-def]
    messages = [record(1), record("bad"), record("nul"), record(2), state(2)]
    info = sync_stream(job_with(engine, messages, dead_journal, RefusingDestination(dead_journal)))
    assert dead_journal.events == [
        "prepare",
        "read from None",
        "write 1,2",
        "dead bad,nul",
        "save {'cursor': 2}",
        "finish",
    ]
    assert (info.read, info.written, info.dead_lettered) == (4, 2, 2)
    with Session(engine) as session:
        letters = {d.record["id"]: d.reason for d in session.exec(select(DeadLetter)).all()}
    assert letters["nul"] == "refused: NUL byte; record key source_id='nul'"


def test_no_checkpoint_when_the_refused_row_cannot_be_dead_lettered(
    engine, dead_journal, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    def store_fails(*args: Any) -> None:
        raise FatalError("the store refused the dead letters")

    monkeypatch.setattr(runs, "add_dead_letters", store_fails)
    messages = [record(1), state(1), record("nul"), record(2), state(2)]
    with pytest.raises(FatalError, match="store refused"):
        sync_stream(job_with(engine, messages, dead_journal, RefusingDestination(dead_journal)))
    with Session(engine) as session:
        saved = session.get_one(StreamState, ("conn", "people"))
    assert saved.state["stream"]["stream_state"] == {"cursor": 1}


def test_a_locked_database_is_retried_not_dead_lettered(engine, dead_journal) -> None:  # type: ignore[no-untyped-def]
    import sqlite3

    from hub.errors import RetriableError

    locked = RefusingDestination(dead_journal, sqlite3.OperationalError("database is locked"))
    with pytest.raises(RetriableError, match="database is locked"):
        sync_stream(job_with(engine, [record(1), record("nul"), state(1)], dead_journal, locked))
    assert not [e for e in dead_journal.events if e.startswith(("dead", "save"))]
    with Session(engine) as session:
        assert session.exec(select(DeadLetter)).all() == []


def test_a_full_refresh_writes_in_batches_not_at_each_state_message(engine, journal) -> None:  # type: ignore[no-untyped-def]
    # A package such as airbyte-source-faker sends a state message every 100 records; a stream
    # that keeps no state has nothing to commit for them (issue 19: 1,000 DuckDB writes a run).
    messages = [record(1), state(1), record(2), state(2), record(3), state(3), record(4)]
    job = make_job(engine, messages, journal, batch_size=3)
    job.config = StreamConfig(mapping="x/y", batch_size=3, sync_mode="full_refresh", write_mode="overwrite")
    info = sync_stream(job)
    assert journal.events == ["prepare", "read from None", "write 1,2,3", "write 4", "finish"]
    assert (info.status, info.read, info.written) == ("succeeded", 4, 4)
    assert info.state["stream"]["stream_state"] == {"cursor": 3}  # the last one, as before
