"""The destination protocol: what the pipeline needs from anything it writes to."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from hub.canonical import FieldType

__all__ = ["WriteMode", "TableSpec", "Destination", "LINEAGE_COLUMNS"]

WriteMode = Literal["append", "merge", "overwrite"]

# Added to every row so a reader can tell where and when it came from.
LINEAGE_COLUMNS: dict[str, FieldType] = {
    "_cd_connection": "string",
    "_cd_stream": "string",
    "_cd_run_id": "string",
    "_cd_extracted_at": "datetime",
    "_cd_mapping_version": "string",
}


@dataclass(frozen=True)
class TableSpec:
    """The table a stream lands in: its name, typed columns and merge key."""

    name: str
    columns: dict[str, FieldType]
    key: tuple[str, ...] = ()
    # Secondary indexes (column tuples) for the lookups readers make (the read API finds a
    # profile's timeline by profile_id); created with the table, kept across overwrites.
    indexes: tuple[tuple[str, ...], ...] = ()
    # A SQL destination adds `_crossdock_hash` (hub/destinations/checksum.py) and the soft
    # delete column; False for scratch tables that are not rows of a stream.
    checksum: bool = True


class Destination(Protocol):
    def prepare(self, spec: TableSpec, mode: WriteMode) -> None:
        """Create or evolve the table before any row is written.

        New columns are added; a column whose existing type cannot hold the new
        type raises `SchemaChangeError` and nothing is changed. For `overwrite`
        the rows go to a staging table that `finish` swaps in atomically.
        """

    def write(self, spec: TableSpec, mode: WriteMode, rows: Sequence[dict[str, Any]]) -> int:
        """Write one batch in one transaction and commit it; returns rows written."""

    def finish(self, spec: TableSpec, mode: WriteMode) -> None:
        """The stream completed: for `overwrite`, swap the staging table in."""

    def abort(self, spec: TableSpec, mode: WriteMode) -> None:
        """The stream failed: for `overwrite`, drop the staging table; the old table stays."""

    def close(self) -> None: ...

    def report(self) -> dict[str, Any] | None:
        """What the stream's writes did beyond rows written, for the run summary and the audit
        log: a write-back's sent / unchanged / refused counts and samples. None for a table."""

    def take_refused(self) -> list[tuple[int, str]]:
        """The rows the last `write` refused and left out, as (position in its rows, reason
        naming the record): they go to the dead letters. A write-back keeps its own per-record
        results and returns []."""

    def hold_deletes(self, reason: str) -> None:
        """Rows were lost on the way (dead-lettered, `reason` says how many): a destination that
        mirrors the table, deleting what left it, must delete nothing this run. A table, which
        never deletes, ignores it."""
