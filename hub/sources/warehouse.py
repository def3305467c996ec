"""The warehouse as a source: tables the hub wrote, read back for write-back.

Each stream is a table, read whole on every run; the write-back destination's
snapshot is what makes an unchanged row cost nothing, so there is no cursor. Rows flagged
deleted by reconciliation (`deletes: soft`) are left out, as if gone.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from hub.destinations import open_destination
from hub.destinations.checksum import DELETED_COLUMN
from hub.errors import FatalError
from hub.redaction import display_url
from hub.sources.source import RECORD, CheckResult, SourceEvent

__all__ = ["WarehouseSource"]

# Datetimes come back as datetime objects, not strings: they get no type to check.
_JSON_SCHEMAS: dict[str | None, dict[str, Any]] = {
    "string": {"type": ["null", "string"]},
    "integer": {"type": ["null", "integer"]},
    "number": {"type": ["null", "number"]},
    "boolean": {"type": ["null", "boolean"]},
    "datetime": {},
    "json": {},
    None: {},
}


class WarehouseSource:
    def __init__(self, url: str, tables: list[str]) -> None:
        self.url, self.tables = url, tables

    def spec(self) -> dict[str, Any]:
        return {"type": "object", "properties": {}}

    def check(self) -> CheckResult:
        db = open_destination("sql", {"url": self.url})
        try:
            missing = [t for t in self.tables if not db.has_table(t)]
        finally:
            db.close()
        if missing:
            return CheckResult(
                False,
                f"{display_url(self.url)} has no table "
                f"{', '.join(missing)}; run the syncs that fill it first",
            )
        return CheckResult(True, f"{len(self.tables)} table(s) found")

    def discover(self) -> list[dict[str, Any]]:
        db = open_destination("sql", {"url": self.url})
        try:
            streams = []
            for table in self.tables:
                columns = db.column_types(table)
                if not columns:
                    continue
                props = {c: _JSON_SCHEMAS[t] for c, t in columns.items()}
                streams.append(
                    {
                        "name": table,
                        "sync_modes": ["full_refresh"],
                        "cursor_field": [],
                        "primary_key": [],
                        "json_schema": {"type": "object", "properties": props},
                    }
                )
            return streams
        finally:
            db.close()

    def read(self, stream: str, *, incremental: bool, state: dict[str, Any] | None) -> Iterator[SourceEvent]:
        db = open_destination("sql", {"url": self.url})
        try:
            if not db.has_table(stream):
                raise FatalError(
                    f"stream `{stream}`: {display_url(self.url)} has no table "
                    f"`{stream}`; run the sync or stitch that fills it first"
                )
            for row in db.iter_rows(stream):
                # a row reconcile flagged deleted (gone at its source) is not sent anywhere
                if row.get(DELETED_COLUMN) is None:
                    yield RECORD, row
        finally:
            db.close()

    def secret_values(self) -> list[str]:
        return []
