"""The diffing destination with a fake API: batching, splitting refused batches, keys."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from hub.destinations import TableSpec
from hub.errors import ConfigError
from hub.store import create_db_and_tables, get_engine
from hub.writeback import BatchRefused, Change, Outcome, WritebackDestination
from hub.writeback.state import list_results, load_snapshot

SPEC = TableSpec(
    "profiles", {"source": "string", "source_id": "string", "email": "string"}, key=("source", "source_id")
)


class FakeApi:
    entity, batch_limit, deletes = "contact", 10, True

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.deleted: list[str | None] = []

    def secret_values(self) -> list[str]:
        return []

    def prepare(self, row: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        if not row.get("email"):
            raise ValueError("no email")
        return row["email"], {"email": row["email"], "name": row.get("name")}

    def upsert(self, changes: Sequence[Change]) -> list[Outcome]:
        self.calls.append([c.key for c in changes])
        if any(c.key.startswith("bad") for c in changes):
            raise BatchRefused("bad address in batch")
        return [Outcome(True, remote_id=f"id-{c.key}") for c in changes]

    def delete(self, changes: Sequence[Change]) -> list[Outcome]:
        self.deleted.extend(c.remote_id for c in changes)
        return [Outcome(True) for _ in changes]

    def close(self) -> None:
        pass


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    """The hub store, where snapshots and results live: SQLite or PostgreSQL."""
    url = (
        f"sqlite:///{tmp_path / 'hub.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("pg_schema_url")
    )
    eng = get_engine(url)
    create_db_and_tables(eng)
    return eng


def destination(engine, api: FakeApi, run_id: str, dry_run: bool = False):  # type: ignore[no-untyped-def]
    return WritebackDestination(
        api,
        name="fake",
        engine=engine,
        connection="out",
        stream="profiles",
        run_id=run_id,
        pseudonym_key=b"k" * 32,
        dry_run=dry_run,
    )


def rows(emails: list[str]) -> list[dict[str, Any]]:
    return [{"source": "crossdock", "source_id": str(i), "email": e} for i, e in enumerate(emails)]


def run(
    engine,
    api: FakeApi,
    data: list[dict[str, Any]],
    run_id: str,
    mode: str = "merge",  # type: ignore[no-untyped-def]
    dry_run: bool = False,
) -> dict[str, Any]:
    dest = destination(engine, api, run_id, dry_run)
    dest.prepare(SPEC, mode)
    dest.write(SPEC, mode, data)
    dest.finish(SPEC, mode)
    return dest.report()


def test_a_refused_batch_is_split_until_the_bad_record_is_alone(engine) -> None:  # type: ignore[no-untyped-def]
    api = FakeApi()
    emails = [f"ok{i}@x.org" for i in range(10)]
    emails[6] = "bad@x.org"
    report = run(engine, api, rows(emails), "r1")
    assert (report["accepted"], report["rejected"]) == (9, 1)
    # 10 -> 5+5 -> the bad half 5 -> 2+3 -> 3 -> 1+2 -> 2 -> 1+1: no accepted record sent twice
    sent_ok = [k for call in api.calls if not any(x.startswith("bad") for x in call) for k in call]
    assert sorted(sent_ok) == sorted(e for e in emails if not e.startswith("bad"))
    rejected = list_results(engine, "r1", "rejected")
    assert [(r.record_ref, r.reason) for r in rejected] == [("crossdock:6", "bad address in batch")]
    assert len(load_snapshot(engine, "out/profiles")) == 9


def test_two_rows_with_one_match_key_are_not_both_sent(engine) -> None:  # type: ignore[no-untyped-def]
    api = FakeApi()
    report = run(engine, api, rows(["same@x.org", "other@x.org", "same@x.org"]), "r1")
    assert (report["accepted"], report["rejected"]) == (2, 1)
    [rejected] = list_results(engine, "r1", "rejected")
    assert rejected.record_ref == "crossdock:2"
    assert "another row (crossdock:0) has the same match key" in (rejected.reason or "")


def test_overwrite_deletes_what_left_the_table_and_merge_does_not(engine) -> None:  # type: ignore[no-untyped-def]
    api = FakeApi()
    run(engine, api, rows(["a@x.org", "b@x.org", "c@x.org"]), "r1", mode="overwrite")
    merged = run(engine, api, rows(["a@x.org"]), "r2", mode="merge")
    assert (merged["delete"], api.deleted) == (0, [])
    preview = run(engine, api, rows(["a@x.org"]), "r3", mode="overwrite", dry_run=True)
    assert (preview["delete"], api.deleted) == (2, [])
    mirrored = run(engine, api, rows(["a@x.org"]), "r4", mode="overwrite")
    assert mirrored["delete"] == 2 and sorted(api.deleted) == ["id-b@x.org", "id-c@x.org"]
    assert len(load_snapshot(engine, "out/profiles")) == 1
    assert {r.action for r in list_results(engine, "r4")} == {"delete"}


def test_write_modes_the_api_cannot_honour_are_config_errors(engine) -> None:  # type: ignore[no-untyped-def]
    api = FakeApi()
    with pytest.raises(ConfigError, match="use write_mode `merge`"):
        destination(engine, api, "r1").prepare(SPEC, "append")
    api.deletes = False
    with pytest.raises(ConfigError, match="never deletes records"):
        destination(engine, api, "r1").prepare(SPEC, "overwrite")


def test_deletes_are_held_when_rows_were_dead_lettered(engine) -> None:  # type: ignore[no-untyped-def]
    api = FakeApi()
    run(engine, api, rows(["a@x.org", "b@x.org"]), "r1", mode="overwrite")
    dest = destination(engine, api, "r2")
    dest.prepare(SPEC, "overwrite")
    dest.write(SPEC, "overwrite", rows(["a@x.org"]))
    dest.hold_deletes("1 row(s) were dead-lettered")  # b's row may only have failed its mapping
    dest.finish(SPEC, "overwrite")
    assert api.deleted == [] and dest.report()["delete"] == 0
    assert dest.report()["deletes_held"] == "1 row(s) were dead-lettered"
    assert len(load_snapshot(engine, "out/profiles")) == 2


def test_rejected_records_are_one_warning_line_per_run(engine, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    """Issue 19: a warning per rejected record (five, then silence) became one summary line."""
    with caplog.at_level("WARNING", logger="crossdock.writeback"):
        report = run(engine, FakeApi(), rows(["", "", "a@x.org", "", "", "", "", ""]), "r1")
    assert report["rejected"] == 7
    [line] = [r.getMessage() for r in caplog.records if "rejected" in r.getMessage()]
    assert line.startswith("out/profiles: 7 record(s) rejected, e.g. crossdock:0: no email"), line
    assert "`crossdock results r1 --rejected`" in line


class MatchingApi(FakeApi):
    """Already holds the addresses starting with `old`, as a CRM matching by email would."""

    def upsert(self, changes: Sequence[Change]) -> list[Outcome]:
        return [Outcome(True, remote_id=f"id-{c.key}", existed=c.key.startswith("old")) for c in changes]


def test_a_first_send_the_destination_already_had_counts_as_an_update(engine) -> None:  # type: ignore[no-untyped-def]
    """Issue 19: people already in the CRM were reported as `create` on the first write-back."""
    report = run(engine, MatchingApi(), rows(["old1@x.org", "new@x.org", "old2@x.org"]), "r1")
    assert (report["create"], report["update"], report["matched_existing"]) == (1, 2, 2)
    actions = {r.record_ref: r.action for r in list_results(engine, "r1", None)}
    assert actions == {"crossdock:0": "update", "crossdock:1": "create", "crossdock:2": "update"}
