"""Row checksums: written with each row; a merge of unchanged rows rewrites nothing."""

from __future__ import annotations

from typing import Any

from hub.destinations import LINEAGE_COLUMNS, SqlDestination, TableSpec
from hub.destinations.checksum import DELETED_COLUMN, HASH_COLUMN, row_hasher

SPEC = TableSpec("people", {"id": "string", "name": "string", "n": "integer", **LINEAGE_COLUMNS}, ("id",))


def rows(run: str, names: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {"id": k, "name": v, "n": 1, "_cd_run_id": run, "_cd_connection": "c", "_cd_stream": "s"}
        for k, v in names.items()
    ]


def test_the_hash_covers_the_mapped_fields_only() -> None:
    h = row_hasher(["id", "name"])
    base = {"id": "1", "name": "Ada"}
    assert h({**base, "_cd_run_id": "r1"}) == h({**base, "_cd_run_id": "r2"})
    assert h(base) != h({**base, "name": "Ada "})
    assert h(base) == row_hasher(["name", "id"])(base)  # column order does not matter
    assert h({"id": "1"}) == h({"id": "1", "name": None})  # an absent field is NULL, as in the table


def test_unchanged_rows_are_not_rewritten_changed_ones_are(dest: SqlDestination) -> None:
    dest.prepare(SPEC, "merge")
    dest.write(SPEC, "merge", rows("r1", {"1": "Ada", "2": "Bob"}))
    first = {r["id"]: r for r in dest.read_rows("people")}
    assert all(r[HASH_COLUMN] for r in first.values())

    dest.prepare(SPEC, "merge")
    dest.write(SPEC, "merge", rows("r2", {"1": "Ada", "2": "Bobby"}))
    second = {r["id"]: r for r in dest.read_rows("people")}
    assert second["1"]["_cd_run_id"] == "r1"  # same hash: the row was left as it was
    assert second["2"]["_cd_run_id"] == "r2" and second["2"]["name"] == "Bobby"
    assert second["2"][HASH_COLUMN] != first["2"][HASH_COLUMN]


def test_a_flagged_deleted_row_that_comes_back_is_unflagged(dest: SqlDestination) -> None:
    dest.prepare(SPEC, "merge")
    dest.write(SPEC, "merge", rows("r1", {"1": "Ada"}))
    dest.execute([f"UPDATE {dest.table_ref('people')} SET {DELETED_COLUMN} = CURRENT_TIMESTAMP"])
    assert dest.read_rows("people")[0][DELETED_COLUMN] is not None
    dest.write(SPEC, "merge", rows("r2", {"1": "Ada"}))  # same content, back at the source
    assert dest.read_rows("people")[0][DELETED_COLUMN] is None


def test_a_table_from_before_checksums_gains_the_column_and_fills_it(dest: SqlDestination) -> None:
    old = TableSpec("people", dict(SPEC.columns), SPEC.key, checksum=False)
    dest.prepare(old, "merge")
    dest.write(old, "merge", rows("r1", {"1": "Ada"}))
    assert HASH_COLUMN not in dest.column_types("people")
    dest.prepare(SPEC, "merge")
    assert {HASH_COLUMN, DELETED_COLUMN} <= set(dest.column_types("people"))
    dest.write(SPEC, "merge", rows("r2", {"1": "Ada"}))  # NULL hash: rewritten once, now hashed
    row = dest.read_rows("people")[0]
    assert row[HASH_COLUMN] and row["_cd_run_id"] == "r2"
