"""A TableSpec's secondary indexes exist on the table readers query: made with it, made again on
the table each overwrite swaps in (the old one's went with it), added to an existing table."""

from __future__ import annotations

from hub.destinations import SqlDestination, TableSpec

SPEC = TableSpec("events", {"id": "string", "who": "string"}, key=("id",), indexes=(("who",),))


def index_names(dest: SqlDestination) -> set[str]:
    sql = {
        "sqlite": "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events'",
        "postgresql": f"SELECT indexname FROM pg_indexes WHERE schemaname = '{dest.schema}' "
        "AND tablename = 'events'",
        "duckdb": "SELECT index_name FROM duckdb_indexes() WHERE table_name = 'events'",
    }[dest.dialect]
    return {str(r[0]) for r in dest.query(sql)[1]}


def test_indexes_survive_overwrites_and_are_added_on_merge(dest: SqlDestination) -> None:
    for n in range(2):
        dest.prepare(SPEC, "overwrite")
        dest.write(SPEC, "overwrite", [{"id": str(n), "who": "ada"}])
        dest.finish(SPEC, "overwrite")
        assert "ix_events__who" in index_names(dest)
        rows = [{c: r[c] for c in SPEC.columns} for r in dest.read_rows("events")]  # less lineage columns
        assert rows == [{"id": str(n), "who": "ada"}]
    bare = TableSpec("events", SPEC.columns, key=("id",))
    dest.prepare(bare, "overwrite")
    dest.finish(bare, "overwrite")
    assert "ix_events__who" not in index_names(dest)
    dest.prepare(SPEC, "merge")  # an existing table gets the index it lacks
    assert "ix_events__who" in index_names(dest)
