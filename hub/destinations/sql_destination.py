"""SQL destination: SQLite (embedded default) and PostgreSQL, bulk writes, one commit per batch.

SQLite: executemany in one transaction. PostgreSQL: COPY into a temporary
table, then one INSERT ... ON CONFLICT for merge. Overwrite writes a staging
table that `finish` swaps in inside one transaction, so readers see either the
old table or the new one, never half of it.
"""

from __future__ import annotations

import operator
import re
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.canonical import FieldType
from hub.destinations._sql_types import (
    SQL_TYPES,
    from_sql_value,
    is_compatible,
    to_sql_value,
    type_of_declared,
)
from hub.destinations.destination import TableSpec, WriteMode
from hub.errors import ConfigError, SchemaChangeError

__all__ = ["SqlDestination"]

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_STAGING_SUFFIX = "__cd_staging"


def _ident(name: str) -> str:
    if not _IDENT.match(name):
        raise ConfigError(f"`{name}` is not a valid table or column name "
                          "(letters, digits and _; not starting with a digit)")
    return f'"{name}"'


@dataclass
class _Plan:
    """Per table and mode, computed once in prepare: the column order and converters."""

    target: str  # the table rows go to (the staging table for overwrite)
    columns: list[str]
    converters: list[Callable[[Any], Any] | None]
    key: tuple[str, ...]
    upsert: bool

    def __post_init__(self) -> None:
        self.getter = operator.itemgetter(*self.columns)


class SqlDestination:
    def __init__(self, url: str, schema: str | None = None) -> None:
        self.url = url
        if url.startswith("sqlite:///"):
            self.dialect = "sqlite"
            path = url.removeprefix("sqlite:///")
            if path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            # Autocommit mode: transactions are opened explicitly, DDL included.
            self._conn: Any = sqlite3.connect(path, isolation_level=None, timeout=30)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self.schema = None
        elif url.startswith(("postgresql://", "postgresql+psycopg://", "postgres://")):
            import psycopg

            self.dialect = "postgresql"
            conninfo = re.sub(r"^postgres(ql)?(\+psycopg)?://", "postgresql://", url)
            try:
                self._conn = psycopg.connect(conninfo, autocommit=True)
            except psycopg.OperationalError as exc:
                raise ConfigError(f"cannot connect to the destination database: {exc}") from exc
            self.schema = schema
        else:
            raise ConfigError(f"unsupported destination url `{url.split(':', 1)[0]}:...`; "
                              "use sqlite:///path.db or postgresql://user@host/db")
        self._plans: dict[tuple[str, str], _Plan] = {}

    # -- names -------------------------------------------------------------
    def _q(self, table: str) -> str:
        return f"{_ident(self.schema)}.{_ident(table)}" if self.schema else _ident(table)

    def _existing_columns(self, table: str) -> dict[str, str]:
        """column -> declared type of an existing table ({} if there is none)."""
        if self.dialect == "sqlite":
            rows = self._conn.execute(f"PRAGMA table_info({_ident(table)})").fetchall()
            return {r[1]: r[2] for r in rows}
        rows = self._conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = COALESCE(%s::text, current_schema()) AND table_name = %s "
            "ORDER BY ordinal_position", (self.schema, table)).fetchall()
        return {r[0]: r[1] for r in rows}

    # -- protocol ----------------------------------------------------------
    def prepare(self, spec: TableSpec, mode: WriteMode) -> None:
        cols = {c: _ident(c) for c in spec.columns}  # validates every name
        if mode == "merge" and not spec.key:
            raise ConfigError(f"table `{spec.name}`: merge needs a key; the mapping has none")
        target = spec.name + _STAGING_SUFFIX if mode == "overwrite" else spec.name
        self._q(target)
        if mode == "overwrite":
            self._exec([f"DROP TABLE IF EXISTS {self._q(target)}", self._create_sql(target, spec)])
        else:
            existing = self._existing_columns(spec.name)
            if not existing:
                self._exec([self._create_sql(target, spec)])
            else:
                self._exec(self._evolve_sql(spec, existing))
        if self.dialect == "postgresql" and spec.key:
            # The COPY landing table for upserts, shaped like the (possibly evolved) target.
            stage = _ident("_cd_stage_" + target)
            self._exec([f"DROP TABLE IF EXISTS pg_temp.{stage}",
                        f"CREATE TEMP TABLE {stage} (LIKE {self._q(target)}) "
                        "ON COMMIT DELETE ROWS"])
        self._plans[(spec.name, mode)] = _Plan(
            target=target, columns=list(cols),
            converters=[to_sql_value(self.dialect, t) for t in spec.columns.values()],
            key=spec.key, upsert=bool(spec.key) and mode in ("merge", "overwrite"))

    def _create_sql(self, table: str, spec: TableSpec) -> str:
        types = SQL_TYPES[self.dialect]
        defs = [f"{_ident(c)} {types[t]}" for c, t in spec.columns.items()]
        if spec.key:
            defs.append(f"PRIMARY KEY ({', '.join(_ident(k) for k in spec.key)})")
        return f"CREATE TABLE {self._q(table)} ({', '.join(defs)})"

    def _evolve_sql(self, spec: TableSpec, existing: dict[str, str]) -> list[str]:
        """ALTERs adding new columns; every column is checked before anything changes."""
        problems, adds = [], []
        for column, new_type in spec.columns.items():
            if column not in existing:
                adds.append(f"ALTER TABLE {self._q(spec.name)} ADD COLUMN {_ident(column)} "
                            f"{SQL_TYPES[self.dialect][new_type]}")
                continue
            old_type = type_of_declared(self.dialect, existing[column])
            if old_type is None or not is_compatible(old_type, new_type):
                problems.append(f"`{column}` is {existing[column]} but the mapping now gives "
                                f"{new_type}")
        if problems:
            raise SchemaChangeError(
                f"table `{spec.name}`: incompatible column types: {'; '.join(problems)}. "
                "Nothing was written. Migrate or drop the column, or map the field to a new "
                "column name.")
        return adds

    def write(self, spec: TableSpec, mode: WriteMode, rows: Sequence[dict[str, Any]]) -> int:
        plan = self._plans[(spec.name, mode)]
        tuples = _as_tuples(plan, rows)
        if plan.upsert:
            tuples = _last_per_key(tuples, [plan.columns.index(k) for k in plan.key])
        if self.dialect == "sqlite":
            self._write_sqlite(plan, tuples)
        else:
            self._write_postgres(plan, tuples)
        return len(rows)

    def _upsert_clause(self, plan: _Plan) -> str:
        if not plan.upsert:
            return ""
        updates = [f"{_ident(c)} = excluded.{_ident(c)}" for c in plan.columns if c not in plan.key]
        action = f"DO UPDATE SET {', '.join(updates)}" if updates else "DO NOTHING"
        return f" ON CONFLICT ({', '.join(_ident(k) for k in plan.key)}) {action}"

    def _write_sqlite(self, plan: _Plan, tuples: list[tuple[Any, ...]]) -> None:
        cols = ", ".join(_ident(c) for c in plan.columns)
        marks = ", ".join("?" * len(plan.columns))
        sql = f"INSERT INTO {self._q(plan.target)} ({cols}) VALUES ({marks})"
        conn = self._conn
        conn.execute("BEGIN")
        try:
            conn.executemany(sql + self._upsert_clause(plan), tuples)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _write_postgres(self, plan: _Plan, tuples: list[tuple[Any, ...]]) -> None:
        cols = ", ".join(_ident(c) for c in plan.columns)
        with self._conn.transaction(), self._conn.cursor() as cur:
            into = _ident("_cd_stage_" + plan.target) if plan.upsert else self._q(plan.target)
            with cur.copy(f"COPY {into} ({cols}) FROM STDIN") as copy:
                for row in tuples:
                    copy.write_row(row)
            if plan.upsert:
                cur.execute(f"INSERT INTO {self._q(plan.target)} ({cols}) SELECT {cols} FROM "
                            f"{into}{self._upsert_clause(plan)}")

    def finish(self, spec: TableSpec, mode: WriteMode) -> None:
        if mode != "overwrite":
            return
        staging = spec.name + _STAGING_SUFFIX
        rename = (f"ALTER TABLE {self._q(staging)} RENAME TO {_ident(spec.name)}")
        self._exec([f"DROP TABLE IF EXISTS {self._q(spec.name)}", rename])

    def abort(self, spec: TableSpec, mode: WriteMode) -> None:
        if mode == "overwrite":
            self._exec([f"DROP TABLE IF EXISTS {self._q(spec.name + _STAGING_SUFFIX)}"])

    def close(self) -> None:
        self._conn.close()

    def _exec(self, statements: list[str]) -> None:
        """Run DDL statements in one transaction: all of them happen or none."""
        if not statements:
            return
        if self.dialect == "sqlite":
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                for sql in statements:
                    self._conn.execute(sql)
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        else:
            with self._conn.transaction():
                for sql in statements:
                    self._conn.execute(sql)

    # -- reading back (tests, reconciliation) -------------------------------
    def read_rows(self, table: str) -> list[dict[str, Any]]:
        declared = self._existing_columns(table)
        types: dict[str, FieldType | None] = {
            c: type_of_declared(self.dialect, t) for c, t in declared.items()}
        cur = self._conn.execute(f"SELECT * FROM {self._q(table)}")
        names = [d[0] for d in cur.description]
        return [{n: from_sql_value(self.dialect, types[n] or "string", v)
                 for n, v in zip(names, row, strict=True)} for row in cur.fetchall()]

    def count(self, table: str) -> int:
        return int(self._conn.execute(f"SELECT COUNT(*) FROM {self._q(table)}").fetchone()[0])


def _as_tuples(plan: _Plan, rows: Sequence[dict[str, Any]]) -> list[tuple[Any, ...]]:
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


def _last_per_key(tuples: list[tuple[Any, ...]], key_idx: list[int]) -> list[tuple[Any, ...]]:
    """Keep the last row of each key: ON CONFLICT cannot update one row twice in a statement."""
    if len(key_idx) == 1:
        i = key_idx[0]
        unique = {t[i]: t for t in tuples}
    else:
        unique = {tuple(t[j] for j in key_idx): t for t in tuples}
    return tuples if len(unique) == len(tuples) else list(unique.values())
