"""The compare, in the warehouse's own engine: source keys and checksums go into a scratch
table beside the stream's table, and anti-joins count (and list) what differs.

Memory stays bounded whatever the stream's size: the source side is written in batches
and the key lists are streamed back from the engine, never held whole in Python.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import Any, Literal

from hub.canonical import FieldType
from hub.destinations import SqlDestination, TableSpec
from hub.destinations.checksum import DELETED_COLUMN, HASH_COLUMN
from hub.destinations.sql_base import ident
from hub.reconcile.report import SAMPLE_KEYS, StreamReport

__all__ = ["WarehouseCompare", "SourceRow", "key_text"]

# One source row as the compare takes it: its key values, what its content is compared by
# (its checksum; with `by="changed"` its change time; with `by=None` nothing), and whether
# it changed at the source after the last sync read it (then it is not a difference).
SourceRow = tuple[tuple[Any, ...], Any, bool]
# What makes a row in both stale: "hash" a different checksum (a full read), "changed" a
# source change time after the warehouse row's (a keys-only read), None nothing (keys only).
CompareBy = Literal["hash", "changed"] | None

_SRC_HASH, _SRC_CHANGED, _PENDING = "_cd_source_hash", "_cd_source_changed", "_cd_pending"
_BATCH = 100_000  # fewer, bigger batches: DuckDB commits each one (its WAL and key index)


def key_text(key: Sequence[Any]) -> str:
    """A key as reports and the audit show it: composite keys joined with `|`."""
    return "|".join("" if v is None else str(v) for v in key)


class WarehouseCompare:
    """Source vs warehouse for one stream's table, on an open SQL destination."""

    def __init__(
        self,
        dest: SqlDestination,
        table: str,
        key: tuple[str, ...],
        key_types: dict[str, FieldType],
        *,
        by: CompareBy = "hash",
        changed_column: str = "updated_at",
    ) -> None:
        if not key:
            raise ValueError(f"table `{table}` has no key: reconcile compares rows by key")
        self.dest, self.table, self.key, self.by = dest, table, key, by
        self.scratch = f"_cd_reconcile_{table}"
        self._content = _SRC_CHANGED if by == "changed" else _SRC_HASH
        self._changed_column = changed_column
        self._spec = TableSpec(
            self.scratch,
            {
                **{k: key_types[k] for k in key},
                self._content: "datetime" if by == "changed" else "string",
                _PENDING: "boolean",
            },
            key,
            checksum=False,
        )
        self._w, self._s = dest.table_ref(table), dest.table_ref(self.scratch)
        self._keys = ", ".join(ident(k) for k in key)
        self._join = " AND ".join(f"w.{ident(k)} = s.{ident(k)}" for k in key)
        # The same join where the warehouse table is the statement's own (UPDATE, DELETE).
        self._join_target = " AND ".join(f"{self._w}.{ident(k)} = s.{ident(k)}" for k in key)

    # -- the source side -----------------------------------------------------
    def load_source(self, rows: Iterable[SourceRow]) -> None:
        """Replace the scratch table with the source's keys and checksums, in batches."""
        self.drop()
        self.dest.prepare(self._spec, "merge")  # merge: a key the source lists twice counts once
        names, content = list(self.key), self._content
        it = iter(rows)
        while batch := list(islice(it, _BATCH)):
            if len(names) == 1:  # the common case, without a zip per row
                (name,) = names
                dicts = [{name: key[0], content: c, _PENDING: p} for key, c, p in batch]
            else:
                dicts = [
                    {**dict(zip(names, key, strict=True)), content: c, _PENDING: p} for key, c, p in batch
                ]
            self.dest.write(self._spec, "merge", dicts)

    def drop(self) -> None:
        self.dest.execute([f"DROP TABLE IF EXISTS {self._s}"])

    # -- the compare -----------------------------------------------------------
    def _live(self) -> str:
        """Warehouse rows that count: not flagged deleted by a repair."""
        has_flag = DELETED_COLUMN in self.dest.column_types(self.table)
        return f"w.{ident(DELETED_COLUMN)} IS NULL" if has_flag else "1 = 1"

    def _stale(self) -> str:
        """A row in both (aliases s, w) whose content differs; never NULL (NOT of it is equal)."""
        if self.by == "hash":
            h = ident(HASH_COLUMN)
            return f"(w.{h} IS NULL OR w.{h} <> s.{_SRC_HASH})"
        if self.by == "changed":
            u = ident(self._changed_column)
            return f"(s.{_SRC_CHANGED} IS NOT NULL AND (w.{u} IS NULL OR w.{u} < s.{_SRC_CHANGED}))"
        return "(1 = 0)"

    def _selects(self) -> dict[str, str]:
        """Kind of difference -> SELECT of its keys (aliases: s scratch, w warehouse)."""
        live, stale = self._live(), self._stale()
        s_keys = ", ".join(f"s.{ident(k)}" for k in self.key)
        w_keys = ", ".join(f"w.{ident(k)}" for k in self.key)
        return {
            "missing": f"SELECT {s_keys} FROM {self._s} s WHERE NOT s.{_PENDING} AND NOT EXISTS "
            f"(SELECT 1 FROM {self._w} w WHERE {self._join} AND {live})",
            "extra": f"SELECT {w_keys} FROM {self._w} w WHERE {live} AND NOT EXISTS "
            f"(SELECT 1 FROM {self._s} s WHERE {self._join})",
            "stale": f"SELECT {s_keys} FROM {self._s} s JOIN {self._w} w ON {self._join} "
            f"WHERE {live} AND NOT s.{_PENDING} AND {stale}",
        }

    def compare(self, report: StreamReport) -> StreamReport:
        """Fill the report's counts (one pass: a full outer join on the key) and sample keys
        (only for the kinds that have some)."""
        live, stale, k = self._live(), self._stale(), ident(self.key[0])
        # Two left joins, not one full join: with the live filter in its ON, DuckDB runs a full
        # join as a nested loop; in a subquery, SQLite joins it by scanning. A flagged row
        # joins nothing, so it is neither a warehouse row nor a match.
        matched = f"w.{k} IS NOT NULL"
        from_source = {
            "source": "1 = 1",
            "pending": f"s.{_PENDING}",
            "equal": f"{matched} AND NOT {stale}",
            "missing": f"w.{k} IS NULL AND NOT s.{_PENDING}",
            "stale": f"{matched} AND NOT s.{_PENDING} AND {stale}",
        }
        from_warehouse = {"warehouse": "1 = 1", "extra": f"s.{k} IS NULL"}

        def sums(conds: dict[str, str]) -> str:
            return ", ".join(f"SUM(CASE WHEN {cond} THEN 1 ELSE 0 END)" for cond in conds.values())

        (a,) = self.dest.query(
            f"SELECT {sums(from_source)} FROM {self._s} s LEFT JOIN {self._w} w ON {self._join} AND {live}"
        )[1]
        (b,) = self.dest.query(
            f"SELECT {sums(from_warehouse)} FROM {self._w} w "
            f"LEFT JOIN {self._s} s ON {self._join} WHERE {live}"
        )[1]
        counts = {**from_source, **from_warehouse}
        row = (*a, *b)
        for name, value in zip(counts, row, strict=True):
            setattr(report, name, int(value or 0))
        for kind, select in self._selects().items():
            if getattr(report, kind):
                _, rows = self.dest.query(f"{select} LIMIT {SAMPLE_KEYS}")
                report.samples[kind] = sorted(key_text(r) for r in rows)
        report.settle()
        return report

    def keys(self, kind: str) -> Iterator[tuple[Any, ...]]:
        """Every key of one kind of difference (missing, extra, stale), streamed."""
        return self.dest.stream_query(self._selects()[kind])

    def _count(self, sql: str) -> int:
        return int(self.dest.query(sql)[1][0][0] or 0)

    # -- repairing extras --------------------------------------------------------
    def flag_extras(self) -> int:
        """Soft delete: stamp the deleted column on warehouse rows the source no longer has."""
        n = self._count(f"SELECT COUNT(*) FROM ({self._selects()['extra']}) d")
        if n:
            d = ident(DELETED_COLUMN)
            self.dest.execute(
                [
                    f"UPDATE {self._w} SET {d} = CURRENT_TIMESTAMP WHERE {d} IS NULL AND NOT EXISTS "
                    f"(SELECT 1 FROM {self._s} s WHERE {self._join_target})"
                ]
            )
        return n

    def delete_extras(self) -> int:
        """Hard delete: remove warehouse rows the source no longer has."""
        n = self._count(f"SELECT COUNT(*) FROM ({self._selects()['extra']}) d")
        if n:
            self.dest.execute(
                [
                    f"DELETE FROM {self._w} WHERE NOT EXISTS "
                    f"(SELECT 1 FROM {self._s} s WHERE {self._join_target})"
                ]
            )
        return n
