"""The warehouse as a source (write-back's input): rows reconcile flagged deleted are not sent."""

from __future__ import annotations

from pathlib import Path

from hub.destinations import TableSpec, open_destination
from hub.destinations.checksum import DELETED_COLUMN
from hub.sources.source import RECORD
from hub.sources.warehouse import WarehouseSource

SPEC = TableSpec("people", {"id": "string", "email": "string"}, key=("id",))


def test_a_row_flagged_deleted_is_left_out(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'wh.db'}"
    dest = open_destination("sql", {"url": url})
    dest.prepare(SPEC, "merge")
    dest.write(
        SPEC, "merge", [{"id": "1", "email": "ada@example.org"}, {"id": "2", "email": "bob@example.org"}]
    )
    dest.finish(SPEC, "merge")
    # what `crossdock reconcile --repair` does to a row gone at its source under `deletes: soft`
    dest.execute(
        [f"UPDATE {dest.table_ref('people')} SET {DELETED_COLUMN} = CURRENT_TIMESTAMP WHERE id = '2'"]
    )
    dest.close()

    read = [
        row["id"]
        for kind, row in WarehouseSource(url, ["people"]).read("people", incremental=False, state=None)
        if kind == RECORD
    ]
    assert read == ["1"]
