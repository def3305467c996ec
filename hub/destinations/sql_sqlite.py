"""SQLite (the embedded default): executemany in one transaction per batch."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hub.destinations._sql_types import json_text
from hub.destinations.destination import TableSpec
from hub.destinations.sql_base import Evolution, SqlDestination, WriteBatch, ident
from hub.destinations.sql_engine import SqlEngine
from hub.errors import ConfigError

__all__ = ["ENGINE", "SqliteDestination"]


class SqliteDestination(SqlDestination):
    def __init__(self, url: str) -> None:
        super().__init__(ENGINE)
        self.url = url
        path = url.removeprefix("sqlite:///")
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # Autocommit mode: transactions are opened explicitly, DDL included.
        self._conn = sqlite3.connect(path, isolation_level=None, timeout=30)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")

    def _existing_columns(self, table: str) -> dict[str, str]:
        rows = self._conn.execute(f"PRAGMA table_info({ident(table)})").fetchall()
        return {r[1]: r[2] for r in rows}

    def _exec(self, statements: list[str]) -> None:
        if not statements:
            return
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            for sql in statements:
                self._conn.execute(sql)
            self._conn.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise

    def _widen_sql(
        self, table: str, existing: dict[str, str], evolution: Evolution, spec: TableSpec
    ) -> list[str]:
        # SQLite cannot change a column's type: rebuild the table in the same transaction.
        types = self.engine.types
        declared = {
            c: types[evolution.widen[c][1]] if c in evolution.widen else t for c, t in existing.items()
        }
        declared |= {c: types[t] for c, t in evolution.adds.items()}
        rebuilt, cols = table + "__cd_widen", ", ".join(ident(c) for c in existing)
        return [
            f"DROP TABLE IF EXISTS {self._q(rebuilt)}",
            self._create_sql(rebuilt, spec, declared),
            f"INSERT INTO {self._q(rebuilt)} ({cols}) SELECT {cols} FROM {self._q(table)}",
            f"DROP TABLE {self._q(table)}",
            f"ALTER TABLE {self._q(rebuilt)} RENAME TO {ident(table)}",
        ]

    def _write(self, plan: WriteBatch, tuples: list[tuple[Any, ...]]) -> None:
        cols = ", ".join(ident(c) for c in plan.columns)
        marks = ", ".join("?" * len(plan.columns))
        sql = f"INSERT INTO {self._q(plan.target)} ({cols}) VALUES ({marks})"
        self._conn.execute("BEGIN")
        try:
            self._conn.executemany(sql + self._upsert_clause(plan), tuples)
            self._conn.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise

    def _rollback(self) -> None:
        # SQLite rolls back by itself on some errors (a full disk): a second ROLLBACK would
        # fail with "no transaction is active" and hide the real cause.
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")

    def _refusal(self, exc: BaseException) -> bool:
        # A NOT NULL or CHECK constraint, a string or blob over SQLite's limit, an integer over
        # 64 bits, a lone surrogate that cannot be encoded as UTF-8.
        return isinstance(exc, (sqlite3.IntegrityError, sqlite3.DataError, OverflowError, UnicodeEncodeError))

    def _disk_full(self, exc: BaseException) -> bool:
        return isinstance(exc, sqlite3.OperationalError) and (
            getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
            or "database or disk is full" in str(exc)
        )

    def _where(self) -> str:
        return self.url.removeprefix("sqlite:///")

    def _cursor(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._conn.execute(sql, params)

    def close(self) -> None:
        self._conn.close()


def _datetime_text(v: datetime) -> str:
    # ISO-8601 in UTC so that text order is time order.
    if v.tzinfo is not UTC:
        v = v.astimezone(UTC)
    return v.isoformat(timespec="microseconds")


def _open(url: str, config: Mapping[str, Any]) -> SqliteDestination:
    if not url.startswith("sqlite:///"):
        raise ConfigError(
            f"unsupported destination url `{url.split(':', 1)[0]}:...`; write a file as {ENGINE.url_form}"
        )
    return SqliteDestination(url)


ENGINE = SqlEngine(
    name="sqlite",
    schemes=("sqlite",),
    url_form="sqlite:///path.db",
    types={
        "string": "TEXT",
        "integer": "INTEGER",
        "number": "REAL",
        "boolean": "BOOLEAN",
        "datetime": "TIMESTAMP",
        "json": "JSON",
    },
    to_sql={"datetime": _datetime_text, "json": json_text, "boolean": lambda v: 1 if v else 0},
    from_sql={"boolean": bool},
    open=_open,
)
