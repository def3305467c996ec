"""A row the destination refuses is left out with its reason and key; the rest of the batch lands.

The same on SQLite, PostgreSQL and DuckDB: NUL bytes in text, an integer over 64 bits, a lone
surrogate; a full disk is one line naming the warehouse, and the batch is rolled back whole.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from hub.destinations import SqlDestination, TableSpec, open_destination
from hub.destinations.sql_base import NUL_REASON, DiskFullError

SPEC = TableSpec("people", {"id": "string", "name": "string", "n": "integer", "extra": "json"}, key=("id",))


def people(n: int) -> list[dict[str, Any]]:
    return [{"id": f"p{i:04d}", "name": f"name {i}", "n": i, "extra": {"i": i}} for i in range(n)]


@pytest.mark.parametrize("mode", ["merge", "append"])
def test_a_nul_byte_is_refused_alike_on_every_engine_and_the_rest_lands(
    dest: SqlDestination, mode: str
) -> None:
    spec = SPEC if mode == "merge" else TableSpec("people", SPEC.columns)
    dest.prepare(spec, mode)  # type: ignore[arg-type]
    rows = people(300)
    rows[150]["name"] = "Ann\x00Smith"
    rows[200]["extra"] = {"note": "a\x00b"}
    assert dest.write(spec, mode, rows) == 298  # type: ignore[arg-type]
    refused = dest.take_refused()
    assert [i for i, _ in refused] == [150, 200]
    assert all(NUL_REASON in reason for _, reason in refused)
    assert "record key id='p0150'" in refused[0][1] if mode == "merge" else "no key" in refused[0][1]
    assert dest.count("people") == 298
    assert "p0150" not in {r["id"] for r in dest.read_rows("people")}
    assert dest.take_refused() == []  # handed over once


@pytest.mark.parametrize("bad", [2**70, "lone \ud800 surrogate"], ids=["int-over-64-bits", "surrogate"])
def test_a_value_the_engine_refuses_is_bisected_out(dest: SqlDestination, bad: Any) -> None:
    dest.prepare(SPEC, "merge")
    dest.write(SPEC, "merge", people(10))  # the table has rows: the upsert path
    rows = people(1000)
    rows[777]["n" if isinstance(bad, int) else "name"] = bad
    assert dest.write(SPEC, "merge", rows) == 999
    refused = dest.take_refused()
    assert [i for i, _ in refused] == [777]
    assert "record key id='p0777'" in refused[0][1] and dest.engine.name in refused[0][1]
    got = {r["id"]: r for r in dest.read_rows("people")}
    assert len(got) == 999 and "p0777" not in got
    assert got["p0778"]["n"] == 778


def test_a_batch_whose_every_row_is_refused_is_an_error_not_dead_letters(dest: SqlDestination) -> None:
    dest.prepare(SPEC, "merge")
    rows = [{**r, "n": 2**70} for r in people(4)]
    with pytest.raises(Exception):  # noqa: B017 - whichever the engine raises
        dest.write(SPEC, "merge", rows)
    assert dest.take_refused() == []
    assert dest.count("people") == 0


def test_disk_full_is_one_line_and_the_batch_is_rolled_back(
    dest: SqlDestination, monkeypatch: pytest.MonkeyPatch
) -> None:
    import duckdb
    import psycopg

    dest.prepare(SPEC, "merge")
    dest.write(SPEC, "merge", people(5))
    full: BaseException = {
        "sqlite": sqlite3.OperationalError("database or disk is full"),
        "postgresql": psycopg.errors.DiskFull("could not extend file: No space left on device"),
        "duckdb": duckdb.IOException('Could not write file "wh.duckdb": No space left on device'),
    }[dest.engine.name]
    calls = []

    def fills_the_disk(plan, tuples):  # type: ignore[no-untyped-def]
        calls.append(len(tuples))
        raise full

    monkeypatch.setattr(dest, "_write", fills_the_disk)
    with pytest.raises(DiskFullError) as err:
        dest.write(SPEC, "merge", [{**r, "name": "changed"} for r in people(50)])
    message = str(err.value)
    assert "\n" not in message and "no disk space left" in message
    assert dest.engine.name in message and calls == [50]  # not bisected, not retried
    assert {r["name"] for r in dest.read_rows("people")} == {f"name {i}" for i in range(5)}


def test_sqlite_disk_full_inside_the_transaction_reports_the_cause_not_the_rollback(tmp_path: Path) -> None:
    """SQLite rolls back by itself on a full disk; our ROLLBACK then failed with
    'cannot rollback - no transaction is active', hiding the cause. A tiny max_page_count
    makes a real SQLITE_FULL."""
    d = open_destination("sql", {"url": f"sqlite:///{tmp_path / 'wh.db'}"})
    try:
        d.prepare(SPEC, "merge")
        d.write(SPEC, "merge", people(5))
        d._conn.execute(
            "PRAGMA max_page_count = "  # type: ignore[attr-defined]
            + str(d._conn.execute("PRAGMA page_count").fetchone()[0])
        )  # type: ignore[attr-defined]
        with pytest.raises(
            DiskFullError, match=r"wh\.db has no disk space left \(database or disk is full\)"
        ):
            d.write(SPEC, "merge", [{**r, "name": "x" * 5000} for r in people(50)])
        assert {r["name"] for r in d.read_rows("people")} == {f"name {i}" for i in range(5)}
    finally:
        d.close()


def test_a_transient_error_is_raised_as_it_is_not_bisected(
    dest: SqlDestination, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A locked file or a dropped connection is for the pipeline to retry, not a refused row."""
    import duckdb
    import psycopg

    dest.prepare(SPEC, "merge")
    transient: BaseException = {
        "sqlite": sqlite3.OperationalError("database is locked"),
        "postgresql": psycopg.OperationalError("server closed the connection unexpectedly"),
        "duckdb": duckdb.TransactionException("Conflict on update"),
    }[dest.engine.name]
    calls = []

    def fails(plan, tuples):  # type: ignore[no-untyped-def]
        calls.append(len(tuples))
        raise transient

    monkeypatch.setattr(dest, "_write", fails)
    with pytest.raises(type(transient)):
        dest.write(SPEC, "merge", people(20))
    assert calls == [20] and dest.take_refused() == []
