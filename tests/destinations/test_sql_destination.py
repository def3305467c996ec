"""The SQL destinations (SQLite, PostgreSQL, DuckDB): modes, schema evolution, types, atomic swap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from hub.destinations import SqlDestination, TableSpec, open_destination
from hub.errors import ConfigError, SchemaChangeError

SPEC = TableSpec("people", {"id": "string", "name": "string", "score": "number"}, key=("id",))


def rows_by_id(dest: SqlDestination, table: str = "people") -> dict[str, dict]:  # type: ignore[type-arg]
    return {r["id"]: r for r in dest.read_rows(table)}


def test_append_inserts_every_row(dest: SqlDestination) -> None:
    spec = TableSpec("events", {"id": "string", "n": "integer"})
    dest.prepare(spec, "append")
    dest.write(spec, "append", [{"id": "a", "n": 1}, {"id": "a", "n": 2}])
    dest.write(spec, "append", [{"id": "b"}])
    assert sorted((r["id"], r["n"]) for r in dest.read_rows("events")) == [("a", 1), ("a", 2), ("b", None)]


def test_merge_updates_and_inserts_last_in_batch_wins(dest: SqlDestination) -> None:
    dest.prepare(SPEC, "merge")
    dest.write(
        SPEC, "merge", [{"id": "1", "name": "Ann", "score": 1.0}, {"id": "2", "name": "Bo", "score": 2.0}]
    )
    dest.write(
        SPEC,
        "merge",
        [
            {"id": "2", "name": "Bob", "score": 2.5},
            {"id": "3", "name": "Cy", "score": 3.0},
            {"id": "3", "name": "Cyd", "score": 3.5},
        ],
    )
    got = rows_by_id(dest)
    assert {k: (v["name"], v["score"]) for k, v in got.items()} == {
        "1": ("Ann", 1.0),
        "2": ("Bob", 2.5),
        "3": ("Cyd", 3.5),
    }
    assert dest.count("people") == 3


def test_merge_into_an_empty_table_falls_back_whole_at_the_first_existing_key(dest: SqlDestination) -> None:
    """PostgreSQL and DuckDB append while every key is new; the batch that meets an old key
    is rolled back and merged, so nothing is lost, doubled or left half-written."""
    for mode in ("merge", "overwrite"):
        dest.prepare(SPEC, mode)
        dest.write(SPEC, mode, [{"id": str(i), "name": f"n{i}", "score": 0.0} for i in range(5)])
        dest.write(
            SPEC, mode, [{"id": "9", "name": "new", "score": 1.0}, {"id": "3", "name": "again", "score": 1.0}]
        )
        dest.write(
            SPEC,
            mode,
            [{"id": "4", "name": "later", "score": 2.0}, {"id": "10", "name": "newer", "score": 2.0}],
        )
        dest.finish(SPEC, mode)
        got = {k: v["name"] for k, v in rows_by_id(dest).items()}
        assert got == {
            "0": "n0",
            "1": "n1",
            "2": "n2",
            "3": "again",
            "4": "later",
            "9": "new",
            "10": "newer",
        }, mode
    dest.prepare(SPEC, "merge")  # not empty now: merged from the first batch
    dest.write(SPEC, "merge", [{"id": "0", "name": "updated", "score": 3.0}])
    assert rows_by_id(dest)["0"]["name"] == "updated" and dest.count("people") == 7


def test_overwrite_swaps_atomically_and_abort_keeps_old_table(dest: SqlDestination) -> None:
    dest.prepare(SPEC, "overwrite")
    dest.write(SPEC, "overwrite", [{"id": "old", "name": "x", "score": 0.0}])
    dest.finish(SPEC, "overwrite")
    assert set(rows_by_id(dest)) == {"old"}

    dest.prepare(SPEC, "overwrite")
    dest.write(SPEC, "overwrite", [{"id": "new1"}, {"id": "new2"}])
    assert set(rows_by_id(dest)) == {"old"}, "a reader mid-stream sees the old table"
    dest.abort(SPEC, "overwrite")
    assert set(rows_by_id(dest)) == {"old"}, "abort keeps the old table"

    dest.prepare(SPEC, "overwrite")
    dest.write(SPEC, "overwrite", [{"id": "new1"}, {"id": "new2"}])
    dest.finish(SPEC, "overwrite")
    assert set(rows_by_id(dest)) == {"new1", "new2"}


def test_new_fields_add_columns(dest: SqlDestination) -> None:
    dest.prepare(SPEC, "merge")
    dest.write(SPEC, "merge", [{"id": "1", "name": "Ann"}])
    wider = TableSpec("people", {**SPEC.columns, "city": "string"}, key=("id",))
    dest.prepare(wider, "merge")
    dest.write(wider, "merge", [{"id": "2", "name": "Bo", "city": "Oslo"}])
    got = rows_by_id(dest)
    assert got["1"]["city"] is None and got["2"]["city"] == "Oslo"


def test_incompatible_type_change_is_an_error_and_changes_nothing(dest: SqlDestination) -> None:
    dest.prepare(SPEC, "merge")
    dest.write(SPEC, "merge", [{"id": "1", "name": "Ann", "score": 1.0}])
    changed = TableSpec(
        "people", {"id": "string", "name": "integer", "score": "number", "added": "string"}, key=("id",)
    )
    with pytest.raises(SchemaChangeError, match=r"`name` is .* but the mapping now gives integer"):
        dest.prepare(changed, "merge")
    # the new column of the same spec was not added either
    assert "added" not in dest.read_rows("people")[0]


def test_integer_into_number_column_is_safe(dest: SqlDestination) -> None:
    dest.prepare(SPEC, "merge")
    narrower = TableSpec("people", {"id": "string", "name": "string", "score": "integer"}, key=("id",))
    dest.prepare(narrower, "merge")
    dest.write(narrower, "merge", [{"id": "1", "score": 7}])
    assert rows_by_id(dest)["1"]["score"] == 7


def test_integer_column_widens_to_number_and_keeps_its_rows(dest: SqlDestination) -> None:
    spec = TableSpec("scores", {"id": "string", "n": "integer", "ok": "boolean"}, key=("id",))
    dest.prepare(spec, "merge")
    dest.write(spec, "merge", [{"id": "a", "n": 2**40, "ok": True}, {"id": "b", "n": None}])
    wider = TableSpec(
        "scores", {"id": "string", "n": "number", "ok": "integer", "new": "string"}, key=("id",)
    )
    dest.prepare(wider, "merge")
    dest.write(wider, "merge", [{"id": "c", "n": 1.25, "ok": 7, "new": "x"}, {"id": "a", "n": 2.5, "ok": 1}])
    got = rows_by_id(dest, "scores")
    assert got["c"]["n"] == 1.25 and got["c"]["ok"] == 7 and got["c"]["new"] == "x"
    assert got["a"]["n"] == 2.5 and got["b"]["n"] is None and got["b"]["new"] is None
    dest.prepare(spec, "merge")  # the old, narrower mapping still fits the wider table
    dest.write(spec, "merge", [{"id": "b", "n": 3, "ok": False}])
    assert rows_by_id(dest, "scores")["b"]["n"] == 3
    # merge still works on the rebuilt / altered table: the key survived
    assert dest.count("scores") == 3


def test_every_type_round_trips(dest: SqlDestination) -> None:
    spec = TableSpec(
        "typed",
        {"id": "string", "i": "integer", "f": "number", "b": "boolean", "t": "datetime", "j": "json"},
        key=("id",),
    )
    when = datetime(2025, 3, 1, 12, 30, 15, 123000, tzinfo=timezone(timedelta(hours=2)))
    dest.prepare(spec, "merge")
    dest.write(
        spec,
        "merge",
        [
            {"id": "full", "i": 2**40, "f": 1.5, "b": True, "t": when, "j": {"a": [1, "x"]}},
            {"id": "empty", "i": None, "f": None, "b": None, "t": None, "j": None},
            {"id": "false", "b": False},
        ],
    )
    got = {r["id"]: r for r in dest.read_rows("typed")}
    assert got["full"]["i"] == 2**40 and got["full"]["f"] == 1.5
    assert got["full"]["b"] is True and got["false"]["b"] is False
    assert got["full"]["t"] == when and got["full"]["t"].astimezone(UTC).hour == 10
    assert got["full"]["j"] == {"a": [1, "x"]}
    assert all(got["empty"][c] is None for c in ("i", "f", "b", "t", "j"))


def test_iter_rows_streams_every_row_typed_in_batches(dest: SqlDestination) -> None:
    """What the warehouse source reads for write-back: all rows, as read_rows gives them."""
    spec = TableSpec("many", {"id": "string", "n": "integer", "t": "datetime"}, key=("id",))
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    dest.prepare(spec, "merge")
    dest.write(spec, "merge", [{"id": f"r{i:03d}", "n": i, "t": when} for i in range(250)])
    streamed = list(dest.iter_rows("many", batch_size=7))
    assert len(streamed) == 250
    assert sorted(streamed, key=lambda r: r["id"]) == sorted(dest.read_rows("many"), key=lambda r: r["id"])
    assert streamed[0]["t"] == when and isinstance(streamed[0]["n"], int)


@pytest.mark.parametrize("name", ["drop table x", "1abc", "a-b", 'x"; --'])
def test_bad_identifiers_are_rejected(dest: SqlDestination, name: str) -> None:
    with pytest.raises(ConfigError, match="not a valid table or column name"):
        dest.prepare(TableSpec(name, {"id": "string"}), "append")
    with pytest.raises(ConfigError, match="not a valid table or column name"):
        dest.prepare(TableSpec("ok", {name: "string"}), "append")


def test_merge_without_key_is_a_config_error(dest: SqlDestination) -> None:
    with pytest.raises(ConfigError, match="merge needs a key"):
        dest.prepare(TableSpec("nokey", {"id": "string"}), "merge")


def test_unknown_destination_type_or_url() -> None:
    with pytest.raises(ConfigError, match="unknown destination type `kafka`"):
        open_destination("kafka", {})
    with pytest.raises(ConfigError, match=r"unsupported destination url `mysql:...`; use .*duckdb"):
        open_destination("sql", {"url": "mysql://x"})
