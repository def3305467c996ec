"""The source side of a reconcile: every record read through the connection's own connector
and mapping, reduced to its key, its checksum and whether it changed after the last sync.

With `by="changed"` (or None) the source is the connector's keys-only read
(hub/reconcile/source_reads.py) and only the key and `updated_at` are mapped: the checksum
slot holds the record's change time (or nothing).

A row whose canonical `updated_at` is at or after the moment the last successful sync
started reading is "pending": the next incremental sync will bring it, so a missing or stale
row for it is not a false alarm. (The mapped `updated_at`, not the connector's cursor field:
a cursor such as HubSpot's `fullReadStartedAt` stamps the read, not the record's change.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from hub.destinations import LINEAGE_COLUMNS
from hub.destinations.checksum import row_hasher
from hub.mapping import CompiledMapping
from hub.reconcile.compare import CompareBy, SourceRow
from hub.sources import RECORD, Source

__all__ = ["SourceSide", "CHANGED_AT"]

CHANGED_AT = "updated_at"  # the canonical field saying when a record last changed
_BATCH = 2_000


def _instant(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


class SourceSide:
    """Reads one stream whole (full refresh, no state: nothing is saved) and maps it."""

    def __init__(
        self,
        source: Source,
        stream: str,
        mapping: CompiledMapping,
        watermark: datetime | None = None,
        by: CompareBy = "hash",
    ) -> None:
        columns = [c for c in mapping.columns() if c not in LINEAGE_COLUMNS]
        if by != "hash":  # a keys-only read: its other fields are absent, not empty
            mapping = mapping.narrowed([*mapping.key, CHANGED_AT])
        self.source, self.stream, self.mapping, self.by = source, stream, mapping, by
        self.hash: Callable[[dict[str, Any]], str] = row_hasher(columns)
        # No watermark (never synced) or no change time in the entity: nothing is pending.
        self.watermark = watermark if CHANGED_AT in columns else None
        self.read = 0  # records read

    def mapped(self) -> Iterator[dict[str, Any]]:
        """The mapped row of each record the mapping keeps."""
        batch: list[dict[str, Any]] = []
        for kind, payload in self.source.read(self.stream, incremental=False, state=None):
            if kind != RECORD:
                continue
            batch.append(payload)
            if len(batch) >= _BATCH:
                yield from self.mapping.map_batch(batch).rows
                self.read += len(batch)
                batch = []
        yield from self.mapping.map_batch(batch).rows
        self.read += len(batch)

    def rows(self) -> Iterator[SourceRow]:
        return map(self.source_row, self.mapped())

    def source_row(self, row: dict[str, Any]) -> SourceRow:
        """A mapped row as the compare takes it: key, checksum, pending."""
        late = False
        if self.watermark is not None:
            at = _instant(row.get(CHANGED_AT))
            late = at is not None and at >= self.watermark
        if self.by == "hash":
            content: Any = self.hash(row)
        else:
            content = _instant(row.get(CHANGED_AT)) if self.by == "changed" else None
        return tuple(row.get(k) for k in self.mapping.key), content, late
