"""What every SQL destination shares: table creation, schema evolution, merge, atomic overwrite.

An engine (SQLite, PostgreSQL, DuckDB) supplies its connection, how to list a
table's columns, how to run DDL in one transaction and its bulk write path; its
SqlEngine (hub/destinations/sql_engine.py) declares its column types and value
converters.
Overwrite writes a staging table that `finish` swaps in inside one
transaction, so readers see either the old table or the new one, never half
of it.

A row the engine refuses (a value it cannot hold or encode) does not stop the
batch: the batch is split in halves until the refused rows stand alone, the
others are committed, and `take_refused` hands the refused rows (with the
reason and the record key) to the pipeline for the dead letters. Text with a
NUL byte is refused on every engine alike, before the write (PostgreSQL cannot
store it; docs/runbook.md says why the others refuse it too). A full disk is
one line naming the warehouse (`_disk_full`), never a rollback error.
"""

from __future__ import annotations

import operator
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from itertools import chain
from typing import Any

from hub.canonical import FieldType
from hub.destinations._sql_types import (
    from_sql_value,
    is_compatible,
    to_sql_value,
    type_of_declared,
    widened,
)
from hub.destinations.checksum import DELETED_COLUMN, HASH_COLUMN, row_hasher
from hub.destinations.destination import LINEAGE_COLUMNS, TableSpec, WriteMode
from hub.destinations.sql_engine import SqlEngine
from hub.errors import ConfigError, FatalError, SchemaChangeError

__all__ = ["SqlDestination", "WriteBatch", "Evolution", "ident", "DiskFullError", "NUL_REASON"]

NUL_REASON = (
    "text with a NUL byte (\\x00): refused on every engine alike, as PostgreSQL cannot "
    "store it; remove it at the source or in the mapping"
)
_JSON_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")  # an escaped NUL, not an escaped backslash

# What a SQL destination adds to every stream's table (TableSpec.checksum).
_CHECKSUM_COLUMNS: dict[str, FieldType] = {HASH_COLUMN: "string", DELETED_COLUMN: "datetime"}

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_STAGING_SUFFIX = "__cd_staging"


def ident(name: str) -> str:
    if not _IDENT.match(name):
        raise ConfigError(
            f"`{name}` is not a valid table or column name (letters, digits and _; not starting with a digit)"
        )
    return f'"{name}"'


class DiskFullError(FatalError):
    """The disk under the warehouse is full: the batch was rolled back, its checkpoint not saved."""


@dataclass
class WriteBatch:
    """Per table and mode, computed once in prepare: the column order and converters."""

    target: str  # the table rows go to (the staging table for overwrite)
    columns: list[str]
    types: list[FieldType]
    converters: list[Callable[[Any], Any] | None]
    key: tuple[str, ...]
    upsert: bool
    # Upserts into a table that held no row at prepare: while every key is new, an engine
    # may append without conflict handling, and must go back to upserting (and stay
    # there) at the first batch that hits an existing key.
    keys_new: bool = False
    # row -> checksum of its mapped fields (written to HASH_COLUMN); None: no checksum column.
    hasher: Callable[[dict[str, Any]], str] | None = None

    def __post_init__(self) -> None:
        self.getter = operator.itemgetter(*self.columns)


@dataclass(frozen=True)
class Evolution:
    adds: dict[str, FieldType]  # new columns
    widen: dict[str, tuple[FieldType, FieldType]]  # column -> (existing type, wider type)


class SqlDestination(ABC):
    schema: str | None = None

    def __init__(self, engine: SqlEngine) -> None:
        self.engine = engine
        self._plans: dict[tuple[str, str], WriteBatch] = {}
        self._refused: list[tuple[int, str]] = []

    # -- what an engine supplies ---------------------------------------------
    @abstractmethod
    def _existing_columns(self, table: str) -> dict[str, str]:
        """column -> declared type of an existing table ({} if there is none)."""

    @abstractmethod
    def _exec(self, statements: list[str]) -> None:
        """Run statements in one transaction: all of them happen or none."""

    @abstractmethod
    def _write(self, plan: WriteBatch, tuples: list[tuple[Any, ...]]) -> None:
        """Insert (or upsert) one batch in one transaction."""

    _param = "?"  # the driver's placeholder

    @abstractmethod
    def _cursor(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """A DB-API cursor on a SELECT (`params` fill the driver's placeholders)."""

    def _query(self, sql: str, params: Sequence[Any] = ()) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Column names and rows of a SELECT."""
        cur = self._cursor(sql, params)
        return [d[0] for d in cur.description or ()], cur.fetchall()

    @abstractmethod
    def close(self) -> None: ...

    def _refusal(self, exc: BaseException) -> bool:
        """Whether the engine refused a value in the rows (not the connection, lock or disk)."""
        return False

    def _disk_full(self, exc: BaseException) -> bool:
        """Whether the error says the disk (or the database's space) is full."""
        return False

    def _where(self) -> str:
        """The warehouse, as an error names it: a file path, or host and database."""
        return getattr(self, "url", self.engine.name)

    def _full(self, exc: BaseException) -> DiskFullError | None:
        """The one-line error for `exc` if it says the disk is full; None otherwise."""
        if self._disk_full(exc):
            cause = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            return DiskFullError(
                f"the {self.engine.name} warehouse {self._where()} has no disk space left "
                f"({cause}): the batch was rolled back and its checkpoint not saved; free space "
                "on that disk (or move the warehouse) and run the sync again, it resumes from "
                "the last checkpoint"
            )
        return None

    @property
    def dialect(self) -> str:
        return self.engine.name

    # -- the protocol's write-back capabilities: a table keeps no tally and never deletes --
    def report(self) -> None:
        return None

    def hold_deletes(self, reason: str) -> None:
        return None

    def _widen_sql(
        self, table: str, existing: dict[str, str], evolution: Evolution, spec: TableSpec
    ) -> list[str]:
        """Statements changing columns to wider types (ALTER ... TYPE where the engine can)."""
        types = self.engine.types
        return [
            f"ALTER TABLE {self._q(table)} ALTER COLUMN {ident(c)} TYPE {types[new]}"
            for c, (_, new) in evolution.widen.items()
        ]

    def _after_prepare(self, target: str, spec: TableSpec) -> None:
        """A hook for engine-specific set-up once the target table has its final shape."""
        return None  # most engines need none

    # -- names -------------------------------------------------------------
    def _q(self, table: str) -> str:
        return f"{ident(self.schema)}.{ident(table)}" if self.schema else ident(table)

    # -- protocol ----------------------------------------------------------
    def prepare(self, spec: TableSpec, mode: WriteMode) -> None:
        try:
            self._prepare(spec, mode)
        except Exception as exc:
            if (full := self._full(exc)) is None:
                raise
            raise full from exc

    def _prepare(self, spec: TableSpec, mode: WriteMode) -> None:
        hasher = None
        if spec.checksum:
            mapped = [c for c in spec.columns if c not in LINEAGE_COLUMNS and c not in _CHECKSUM_COLUMNS]
            hasher = row_hasher(mapped)
            spec = replace(spec, columns={**spec.columns, **_CHECKSUM_COLUMNS})
        for c in spec.columns:
            ident(c)  # validates every name before anything changes
        if mode == "merge" and not spec.key:
            raise ConfigError(f"table `{spec.name}`: merge needs a key; the mapping has none")
        target = spec.name + _STAGING_SUFFIX if mode == "overwrite" else spec.name
        self._q(target)
        column_types = dict(spec.columns)
        empty = True
        if mode == "overwrite":
            self._exec([f"DROP TABLE IF EXISTS {self._q(target)}", self._create_sql(target, spec)])
        else:
            existing = self._existing_columns(spec.name)
            if not existing:
                self._exec([self._create_sql(target, spec)])
            else:
                empty = not self._query(f"SELECT 1 FROM {self._q(spec.name)} LIMIT 1")[1]
                evolution = self._evolution(spec, existing)
                adds = [
                    f"ALTER TABLE {self._q(spec.name)} ADD COLUMN {ident(c)} {self.engine.types[t]}"
                    for c, t in evolution.adds.items()
                ]
                widen = self._widen_sql(spec.name, existing, evolution, spec) if evolution.widen else []
                self._exec(adds + widen)
                column_types = self._column_types(spec.name, spec)
            self._exec(self._index_sql(spec))
        self._after_prepare(target, spec)
        self._plans[(spec.name, mode)] = WriteBatch(
            target=target,
            columns=list(spec.columns),
            types=list(column_types.values()),
            converters=[to_sql_value(self.engine, t, column_types[c]) for c, t in spec.columns.items()],
            key=spec.key,
            upsert=bool(spec.key) and mode in ("merge", "overwrite"),
            keys_new=empty,
            hasher=hasher,
        )

    def _index_sql(self, spec: TableSpec) -> list[str]:
        """CREATE INDEX statements for the spec's secondary indexes on its (final) table."""
        return [
            f"CREATE INDEX IF NOT EXISTS {ident('ix_' + spec.name + '__' + '_'.join(cols))} "
            f"ON {self._q(spec.name)} ({', '.join(ident(c) for c in cols)})"
            for cols in spec.indexes
        ]

    def _column_types(self, table: str, spec: TableSpec) -> dict[str, FieldType]:
        """The type each of the spec's columns has in the (evolved) table."""
        declared = self._existing_columns(table)
        return {c: type_of_declared(self.engine, declared[c]) or t for c, t in spec.columns.items()}

    def _create_sql(self, table: str, spec: TableSpec, declared: dict[str, str] | None = None) -> str:
        types = self.engine.types
        columns = declared or {c: types[t] for c, t in spec.columns.items()}
        defs = [f"{ident(c)} {sql_type}" for c, sql_type in columns.items()]
        if spec.key:
            defs.append(f"PRIMARY KEY ({', '.join(ident(k) for k in spec.key)})")
        return f"CREATE TABLE {self._q(table)} ({', '.join(defs)})"

    def _evolution(self, spec: TableSpec, existing: dict[str, str]) -> Evolution:
        """New columns and safe widenings; every column is checked before anything changes."""
        problems: list[str] = []
        adds: dict[str, FieldType] = {}
        widen: dict[str, tuple[FieldType, FieldType]] = {}
        for column, new_type in spec.columns.items():
            if column not in existing:
                adds[column] = new_type
                continue
            old_type = type_of_declared(self.engine, existing[column])
            if old_type is not None:
                if is_compatible(old_type, new_type):
                    continue
                wider = widened(old_type, new_type)
                if wider is not None:
                    widen[column] = (old_type, wider)
                    continue
            problems.append(f"`{column}` is {existing[column]} but the mapping now gives {new_type}")
        if problems:
            raise SchemaChangeError(
                f"table `{spec.name}`: incompatible column types: {'; '.join(problems)}. "
                "Nothing was written. Migrate or drop the column, or map the field to a new "
                "column name."
            )
        return Evolution(adds, widen)

    def write(self, spec: TableSpec, mode: WriteMode, rows: Sequence[dict[str, Any]]) -> int:
        """Write the batch; rows the engine refuses are left out (see `take_refused`)."""
        plan = self._plans[(spec.name, mode)]
        self._refused = []
        if plan.hasher is not None:
            digest = plan.hasher
            for row in rows:
                row[HASH_COLUMN], row[DELETED_COLUMN] = digest(row), None
        tuples = _as_tuples(plan, rows)
        at = list(range(len(tuples)))  # each tuple's position in `rows`
        if plan.upsert:
            unique = _last_per_key(at, tuples, [plan.columns.index(k) for k in plan.key])
            if len(unique) != len(at):
                at, tuples = unique, [tuples[i] for i in unique]
        nul = _rows_with_nul(plan, tuples)
        if nul:
            self._refused += [(at[i], self._reason(plan, tuples[i], NUL_REASON)) for i in nul]
            skip = set(nul)
            keep = [i for i in range(len(tuples)) if i not in skip]
            at, tuples = [at[i] for i in keep], [tuples[i] for i in keep]
        try:
            self._write_bisecting(plan, tuples, at)
        except Exception as exc:
            if (full := self._full(exc)) is None:
                raise
            raise full from exc
        self._refused.sort()
        return len(rows) - len(self._refused)

    def take_refused(self) -> list[tuple[int, str]]:
        """The rows the last `write` left out: (position in its rows, reason naming the key)."""
        refused, self._refused = self._refused, []
        return refused

    def _write_bisecting(self, plan: WriteBatch, tuples: list[tuple[Any, ...]], at: list[int]) -> None:
        """Write the rows; where the engine refuses one, write each half on its own, down to
        the refused rows, which are recorded instead. Each write is its own transaction, so
        what is committed is whole rows; an error that is not a refusal stops at once."""
        if not tuples:
            return
        try:
            self._write(plan, tuples)
            return
        except Exception as exc:
            if not self._refusal(exc):
                raise
            if len(tuples) == 1:
                self._refused.append((at[0], self._reason(plan, tuples[0], _first_line(exc))))
                return
            first = exc
        before = len(self._refused)
        mid = len(tuples) // 2
        self._write_bisecting(plan, tuples[:mid], at[:mid])
        self._write_bisecting(plan, tuples[mid:], at[mid:])
        if len(self._refused) - before == len(tuples):
            # Not one row went in: the engine refuses the batch itself, not a value in a row.
            del self._refused[before:]
            raise first

    def _reason(self, plan: WriteBatch, row: tuple[Any, ...], why: str) -> str:
        if plan.key:
            key = ", ".join(f"{k}={row[plan.columns.index(k)]!r}" for k in plan.key)
        else:
            key = "none (the table has no key)"
        return (
            f"refused by the {self.engine.name} destination (table `{plan.target}`): {why}; record key {key}"
        )

    def _upsert_clause(self, plan: WriteBatch) -> str:
        if not plan.upsert:
            return ""
        updates = [f"{ident(c)} = excluded.{ident(c)}" for c in plan.columns if c not in plan.key]
        action = f"DO UPDATE SET {', '.join(updates)}" if updates else "DO NOTHING"
        if updates and plan.hasher is not None:
            # Rewrite a row only when its checksum changed (or it was flagged deleted): a
            # re-sync of unchanged data writes nothing. Rows from before checksums have NULL.
            t, h, d = ident(plan.target), ident(HASH_COLUMN), ident(DELETED_COLUMN)
            action += f" WHERE {t}.{h} IS NULL OR {t}.{h} <> excluded.{h} OR {t}.{d} IS NOT NULL"
        return f" ON CONFLICT ({', '.join(ident(k) for k in plan.key)}) {action}"

    def finish(self, spec: TableSpec, mode: WriteMode) -> None:
        if mode != "overwrite":
            return
        staging = spec.name + _STAGING_SUFFIX
        rename = f"ALTER TABLE {self._q(staging)} RENAME TO {ident(spec.name)}"
        try:
            # The old table's indexes went with it; the swapped-in one gets them anew.
            self._exec([f"DROP TABLE IF EXISTS {self._q(spec.name)}", rename, *self._index_sql(spec)])
        except Exception as exc:
            if (full := self._full(exc)) is None:
                raise
            raise full from exc

    def abort(self, spec: TableSpec, mode: WriteMode) -> None:
        if mode == "overwrite":
            self._exec([f"DROP TABLE IF EXISTS {self._q(spec.name + _STAGING_SUFFIX)}"])

    # -- reading back (tests, reconciliation, the read API) ---------------------
    def stream_query(
        self, sql: str, params: Sequence[Any] = (), batch_size: int = 10_000
    ) -> Iterator[tuple[Any, ...]]:
        """The rows of a SELECT, fetched `batch_size` at a time."""
        cur = self._cursor(sql, params)
        while rows := cur.fetchmany(batch_size):
            yield from rows

    def execute(self, statements: list[str]) -> None:
        """Statements (built from checked names, no values) in one transaction."""
        self._exec(statements)

    def has_table(self, table: str) -> bool:
        return bool(self._existing_columns(table))

    def column_types(self, table: str) -> dict[str, FieldType | None]:
        """column -> field type of an existing table (None where we cannot tell; {} if none)."""
        return {c: type_of_declared(self.engine, t) for c, t in self._existing_columns(table).items()}

    def read_rows(self, table: str, where: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Rows of a table, optionally only those whose columns equal the given values."""
        types = self.column_types(table)
        sql, params = f"SELECT * FROM {self._q(table)}", list((where or {}).values())
        if where:
            sql += " WHERE " + " AND ".join(f"{ident(c)} = {self._param}" for c in where)
        names, rows = self._query(sql, params)
        return [
            {n: from_sql_value(self.engine, types[n] or "string", v) for n, v in zip(names, row, strict=True)}
            for row in rows
        ]

    def iter_rows(self, table: str, batch_size: int = 10_000) -> Iterator[dict[str, Any]]:
        """Every row of a table, fetched `batch_size` at a time (for tables too big to hold)."""
        types = self.column_types(table)
        cur = self._cursor(f"SELECT * FROM {self._q(table)}")
        names = [d[0] for d in cur.description or ()]
        while rows := cur.fetchmany(batch_size):
            for row in rows:
                yield {
                    n: from_sql_value(self.engine, types[n] or "string", v)
                    for n, v in zip(names, row, strict=True)
                }

    # -- a reader's own queries (the read API): names through ident(), values as parameters --
    @property
    def placeholder(self) -> str:
        """The driver's parameter placeholder (`?` or `%s`)."""
        return self._param

    def table_ref(self, table: str) -> str:
        """The table's quoted (schema-qualified) name, for a query built by a reader."""
        return self._q(table)

    def query(self, sql: str, params: Sequence[Any] = ()) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Column names and rows of a SELECT whose names came from `ident`/`table_ref`."""
        return self._query(sql, params)

    def count(self, table: str) -> int:
        return int(self._query(f"SELECT COUNT(*) FROM {self._q(table)}")[1][0][0])

    # -- deleting (retention and erasure, hub/governance/) ----------------------
    def delete_where(
        self,
        table: str,
        *,
        any_of: Sequence[Mapping[str, Sequence[Any]]] = (),
        before: tuple[str, datetime] | None = None,
        dry_run: bool = False,
    ) -> int:
        """Delete (or, in a dry run, count) the rows that match one of `any_of` (each a
        column -> allowed values mapping, all of whose columns must match; text compared
        case-blind) and whose `before` column is older than the instant. One statement, so
        all of them go or none. An alternative naming a column the table lacks matches
        nothing; with nothing to match on, nothing is deleted (never a whole table)."""
        columns = self.column_types(table)
        if not columns:
            return 0
        clauses: list[str] = []
        params: list[Any] = []
        alternatives = []
        for alt in any_of:
            if not alt or any(c not in columns or not v for c, v in alt.items()):
                continue
            parts = []
            for column, values in alt.items():
                text = columns[column] in (None, "string")
                col = f"LOWER({ident(column)})" if text else ident(column)
                parts.append(f"{col} IN ({', '.join([self._param] * len(values))})")
                params += [str(v).lower() if text else v for v in values]
            alternatives.append("(" + " AND ".join(parts) + ")")
        if any_of:
            if not alternatives:
                return 0
            clauses.append("(" + " OR ".join(alternatives) + ")")
        if before is not None:
            column, instant = before
            if column not in columns:
                return 0
            convert = to_sql_value(self.engine, "datetime", columns[column] or "datetime")
            clauses.append(f"{ident(column)} < {self._param}")
            params.append(convert(instant) if convert else instant)
        if not clauses:
            return 0
        where = " AND ".join(clauses)
        if dry_run:
            return int(self._query(f"SELECT COUNT(*) FROM {self._q(table)} WHERE {where}", params)[1][0][0])
        cur = self._cursor(f"DELETE FROM {self._q(table)} WHERE {where}", params)
        deleted = getattr(cur, "rowcount", -1)
        if deleted is None or deleted < 0:  # DuckDB answers a DELETE with a row holding the count
            row = cur.fetchone()
            deleted = int(row[0]) if row else 0
        return int(deleted)


def _as_tuples(plan: WriteBatch, rows: Sequence[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Rows as tuples in column order: itemgetter in C, converters only where needed."""
    convert = [(i, conv) for i, conv in enumerate(plan.converters) if conv is not None]
    try:
        tuples: list[Any] = list(map(plan.getter, rows))
    except KeyError:  # some row lacks a column: fill it with NULL
        tuples = [tuple(row.get(c) for c in plan.columns) for row in rows]
    if len(plan.columns) == 1:
        tuples = [(t,) for t in tuples]  # itemgetter of one key returns the bare value
    if convert:
        out = []
        for t in tuples:
            values = list(t)
            for i, conv in convert:
                if values[i] is not None:
                    values[i] = conv(values[i])
            out.append(tuple(values))
        return out
    return tuples


def _last_per_key(at: list[int], tuples: list[tuple[Any, ...]], key_idx: list[int]) -> list[int]:
    """The positions of the last row of each key: ON CONFLICT cannot update one row twice in a
    statement."""
    if len(key_idx) == 1:
        i = key_idx[0]
        unique = {tuples[j][i]: j for j in at}
    else:
        unique = {tuple(tuples[j][k] for k in key_idx): j for j in at}
    return at if len(unique) == len(at) else sorted(unique.values())


def _rows_with_nul(plan: WriteBatch, tuples: list[tuple[Any, ...]]) -> list[int]:
    """Positions of rows holding a NUL byte in a text value, or `\\u0000` in a JSON one."""
    text = [(i, t) for i, t in enumerate(plan.types) if t in ("string", "json")]
    if not text or not tuples:
        return []
    # The common case (no NUL anywhere) in one pass in C over the batch's text values.
    cells = (
        chain.from_iterable(map(operator.itemgetter(*(i for i, _ in text)), tuples))
        if len(text) > 1
        else (t[text[0][0]] for t in tuples)
    )
    try:
        blob = "\n".join(filter(None, cells))
    except TypeError:  # a value that is not text: look column by column below
        blob = "\x00"
    if "\x00" not in blob and "\\u0000" not in blob:
        return []
    columns = list(zip(*tuples, strict=True))  # transposed in C
    found: set[int] = set()
    for i, type_ in text:
        values = columns[i]
        # One scan in C per column tells whether any row has one (the common case: none).
        try:
            blob = "\n".join(filter(None, values))
        except TypeError:  # not all text: a value the engine will take or refuse itself
            blob = "\n".join(v for v in values if type(v) is str)
        if "\x00" not in blob and "\\u0000" not in blob:
            continue
        found.update(
            n
            for n, v in enumerate(values)
            if type(v) is str and ("\x00" in v or (type_ == "json" and _JSON_NUL.search(v) is not None))
        )
    return sorted(found)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}".rstrip(": ")
