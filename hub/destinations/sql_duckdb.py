"""DuckDB: each batch goes in as one Arrow table (columnar, no per-row Python in the engine).

An upsert into a table that was empty at prepare inserts without ON CONFLICT
while every key is new; the first batch that hits an existing key rolls back
and is upserted, as is every batch after it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hub.canonical import FieldType
from hub.destinations._sql_types import json_text
from hub.destinations.sql_base import SqlDestination, WriteBatch, ident
from hub.destinations.sql_engine import SqlEngine
from hub.errors import ConfigError

__all__ = ["ENGINE", "DuckDBDestination"]


class DuckDBDestination(SqlDestination):
    def __init__(self, url: str) -> None:
        import duckdb

        super().__init__(ENGINE)
        self.url = url
        path = url.removeprefix("duckdb:///")
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._conn = duckdb.connect(path)

    def _existing_columns(self, table: str) -> dict[str, str]:
        rows = self._conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = ? "
            "ORDER BY ordinal_position",
            [table],
        ).fetchall()
        return {r[0]: r[1] for r in rows}

    def _exec(self, statements: list[str]) -> None:
        if not statements:
            return
        self._conn.begin()
        try:
            for sql in statements:
                self._conn.execute(sql)
            self._conn.commit()
        except BaseException:
            self._conn.rollback()
            raise

    def _write(self, plan: WriteBatch, tuples: list[tuple[Any, ...]]) -> None:
        import duckdb

        if not tuples:
            return
        batch = _arrow_table(plan, tuples)
        self._conn.register("_cd_batch", batch)
        try:
            if plan.upsert and plan.keys_new:
                try:
                    self._insert(plan, upsert=False)
                    return
                except duckdb.ConstraintException:
                    plan.keys_new = False  # rolled back; from now on with ON CONFLICT
            self._insert(plan, upsert=plan.upsert)
        finally:
            self._conn.unregister("_cd_batch")

    def _insert(self, plan: WriteBatch, upsert: bool) -> None:
        cols = ", ".join(ident(c) for c in plan.columns)
        self._conn.begin()
        try:
            self._conn.execute(
                f"INSERT INTO {self._q(plan.target)} ({cols}) SELECT {cols} "
                f"FROM _cd_batch{self._upsert_clause(plan) if upsert else ''}"
            )
            self._conn.commit()
        except BaseException:
            self._conn.rollback()
            raise

    def _cursor(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._conn.execute(sql, params)

    def _refusal(self, exc: BaseException) -> bool:
        import duckdb
        import pyarrow as pa

        # A value DuckDB cannot cast or take (a NOT NULL key, invalid UTF-8), or one the Arrow
        # batch cannot hold (an integer over 64 bits, a lone surrogate).
        return isinstance(
            exc,
            (
                duckdb.ConversionException,
                duckdb.ConstraintException,
                duckdb.InvalidInputException,
                pa.ArrowInvalid,
                pa.ArrowTypeError,
                OverflowError,
                UnicodeEncodeError,
            ),
        )

    def _disk_full(self, exc: BaseException) -> bool:
        import duckdb

        return isinstance(exc, (duckdb.IOException, duckdb.OutOfMemoryException, OSError)) and (
            "No space left on device" in str(exc) or "disk is full" in str(exc).lower()
        )

    def _where(self) -> str:
        return self.url.removeprefix("duckdb:///")

    def close(self) -> None:
        self._conn.close()


def _arrow_table(plan: WriteBatch, tuples: list[tuple[Any, ...]]) -> Any:
    import pyarrow as pa

    arrow_types: dict[FieldType, Any] = {
        "string": pa.string(),
        "integer": pa.int64(),
        "number": pa.float64(),
        "boolean": pa.bool_(),
        "datetime": pa.timestamp("us", tz="UTC"),
        "json": pa.string(),  # JSON text; DuckDB casts it into the JSON column
    }
    columns = list(zip(*tuples, strict=True))
    return pa.table(
        {
            name: pa.array(values, type=arrow_types[type_])
            for name, type_, values in zip(plan.columns, plan.types, columns, strict=True)
        }
    )


def _warm() -> None:
    import duckdb  # noqa: F401
    import pyarrow as pa

    pa.array([0])  # pyarrow's first conversion imports pandas (about 0.25 s)


def _open(url: str, config: Mapping[str, Any]) -> DuckDBDestination:
    if not url.startswith("duckdb:///"):
        raise ConfigError(
            f"unsupported destination url `{url.split(':', 1)[0]}:...`; write a file as {ENGINE.url_form}"
        )
    return DuckDBDestination(url)


# DuckDB and pyarrow are imported when a destination opens or writes, never here.
ENGINE = SqlEngine(
    name="duckdb",
    schemes=("duckdb",),
    url_form="duckdb:///path.duckdb",
    types={
        "string": "VARCHAR",
        "integer": "BIGINT",
        "number": "DOUBLE",
        "boolean": "BOOLEAN",
        "datetime": "TIMESTAMP WITH TIME ZONE",
        "json": "JSON",
    },
    to_sql={"json": json_text},
    open=_open,
    warm=_warm,
)
