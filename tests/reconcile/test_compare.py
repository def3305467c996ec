"""The compare in the warehouse's engine, on SQLite, PostgreSQL and DuckDB: exact key sets,
checksums (or, after a keys-only read, change times), pending rows, and what repair does to
extras."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hub.destinations import LINEAGE_COLUMNS, SqlDestination, TableSpec
from hub.destinations.checksum import DELETED_COLUMN, row_hasher
from hub.reconcile.compare import WarehouseCompare
from hub.reconcile.report import StreamReport

SPEC = TableSpec("contacts", {"id": "string", "email": "string", **LINEAGE_COLUMNS}, ("id",))
HASH = row_hasher(["id", "email"])


def warehouse(dest: SqlDestination, emails: dict[str, str]) -> WarehouseCompare:
    dest.prepare(SPEC, "merge")
    dest.write(SPEC, "merge", [{"id": k, "email": v, "_cd_run_id": "r"} for k, v in emails.items()])
    return WarehouseCompare(dest, "contacts", ("id",), {"id": "string"})


def source(emails: dict[str, str], pending: set[str] = frozenset()) -> list[Any]:  # type: ignore[assignment]
    return [((k,), HASH({"id": k, "email": v}), k in pending) for k, v in emails.items()]


def check(compare: WarehouseCompare, rows: list[Any]) -> StreamReport:
    compare.load_source(rows)
    return compare.compare(StreamReport("c", "contacts", "contacts"))


def test_equal_tables_are_clean(dest: SqlDestination) -> None:
    compare = warehouse(dest, {"1": "a@x", "2": "b@x"})
    report = check(compare, source({"1": "a@x", "2": "b@x"}))
    assert (report.source, report.warehouse, report.equal, report.differences) == (2, 2, 2, 0)
    assert report.status == "clean" and report.samples == {}


def test_missing_extra_and_stale_are_found_exactly(dest: SqlDestination) -> None:
    compare = warehouse(dest, {"1": "a@x", "2": "b@x", "3": "c@x", "9": "gone@x"})
    report = check(compare, source({"1": "a@x", "2": "b@x", "3": "C@x", "4": "d@x"}))
    assert (report.missing, report.extra, report.stale, report.equal) == (1, 1, 1, 2)
    assert report.samples == {"missing": ["4"], "extra": ["9"], "stale": ["3"]}
    assert report.status == "differences"
    assert sorted(k[0] for k in compare.keys("missing")) == ["4"]


def test_records_changed_after_the_last_sync_are_pending_not_differences(dest: SqlDestination) -> None:
    compare = warehouse(dest, {"1": "a@x", "2": "b@x"})
    # 2 changed and 5 was created at the source after the sync read: the next sync brings them
    report = check(compare, source({"1": "a@x", "2": "B@x", "5": "e@x"}, pending={"2", "5"}))
    assert (report.pending, report.differences, report.status) == (2, 0, "clean")


def test_a_key_the_source_lists_twice_counts_once(dest: SqlDestination) -> None:
    compare = warehouse(dest, {"1": "a@x"})
    report = check(compare, source({"1": "a@x"}) * 2)
    assert (report.source, report.differences) == (1, 0)


@pytest.mark.parametrize("hard", [False, True])
def test_repairing_extras_flags_or_deletes_only_them(dest: SqlDestination, hard: bool) -> None:
    compare = warehouse(dest, {"1": "a@x", "9": "gone@x"})
    check(compare, source({"1": "a@x"}))
    assert (compare.delete_extras() if hard else compare.flag_extras()) == 1
    rows = {r["id"]: r for r in dest.read_rows("contacts")}
    if hard:
        assert set(rows) == {"1"}
    else:
        assert rows["9"][DELETED_COLUMN] is not None and rows["1"][DELETED_COLUMN] is None
    after = check(compare, source({"1": "a@x"}))
    assert (after.extra, after.warehouse, after.status) == (0, 1, "clean")


def test_a_table_without_a_key_is_refused(dest: SqlDestination) -> None:
    with pytest.raises(ValueError, match="no key"):
        WarehouseCompare(dest, "contacts", (), {})


def test_a_keys_compare_judges_staleness_by_change_time(dest: SqlDestination) -> None:
    """A keys-only read brings each key's change time: a row whose source changed after the
    warehouse's `updated_at` is stale; an equal or older time, or none, is not."""
    spec = TableSpec("contacts", {"id": "string", "updated_at": "datetime", **LINEAGE_COLUMNS}, ("id",))
    t0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    later, micro = t0 + timedelta(hours=1), t0 + timedelta(microseconds=500)
    dest.prepare(spec, "merge")
    dest.write(spec, "merge", [{"id": k, "updated_at": t0, "_cd_run_id": "r"} for k in "12345"])
    compare = WarehouseCompare(dest, "contacts", ("id",), {"id": "string"}, by="changed")
    rows = [(("1",), t0, False), (("2",), later, False), (("3",), micro, False), (("4",), None, False)]
    report = check(compare, [*rows, (("5",), later, True), (("6",), t0, False)])
    assert (report.stale, report.missing, report.extra, report.pending) == (2, 1, 0, 1)
    assert report.samples == {"stale": ["2", "3"], "missing": ["6"]} and report.equal == 2
