"""PostgreSQL: COPY into the table, or into a temporary table and one INSERT ... ON CONFLICT.

An upsert into a table that was empty at prepare (a first sync, an overwrite)
COPYs straight into it while every key is new: the primary key still refuses a
duplicate, and that batch's transaction rolls back and goes through the
temporary table, as does every batch after it."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from hub.destinations._sql_types import json_text
from hub.destinations.checksum import DELETED_COLUMN, HASH_COLUMN
from hub.destinations.destination import TableSpec
from hub.destinations.sql_base import Evolution, SqlDestination, WriteBatch, ident
from hub.destinations.sql_engine import SqlEngine
from hub.errors import ConfigError

__all__ = ["ENGINE", "PostgresDestination"]


class PostgresDestination(SqlDestination):
    _param = "%s"

    def __init__(self, url: str, schema: str | None = None) -> None:
        import psycopg

        super().__init__(ENGINE)
        self.url, self.schema = url, schema
        conninfo = re.sub(r"^postgres(ql)?(\+psycopg)?://", "postgresql://", url)
        try:
            self._conn = psycopg.connect(conninfo, autocommit=True)
        except psycopg.OperationalError as exc:
            raise ConfigError(f"cannot connect to the destination database: {exc}") from exc

    def _existing_columns(self, table: str) -> dict[str, str]:
        rows = self._conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = COALESCE(%s::text, current_schema()) AND table_name = %s "
            "ORDER BY ordinal_position",
            (self.schema, table),
        ).fetchall()
        return {r[0]: r[1] for r in rows}

    def _exec(self, statements: list[str]) -> None:
        if not statements:
            return
        with self._conn.transaction():
            for sql in statements:
                self._conn.execute(sql)  # built from checked names

    def _widen_sql(
        self, table: str, existing: dict[str, str], evolution: Evolution, spec: TableSpec
    ) -> list[str]:
        out = []
        for column, (old, new) in evolution.widen.items():
            sql_type, c = self.engine.types[new], ident(column)
            using = f"({c}::integer)::{sql_type}" if old == "boolean" else f"{c}::{sql_type}"
            out.append(f"ALTER TABLE {self._q(table)} ALTER COLUMN {c} TYPE {sql_type} USING {using}")
        return out

    def _after_prepare(self, target: str, spec: TableSpec) -> None:
        if spec.key:
            # The COPY landing table for upserts, shaped like the (possibly evolved) target.
            stage = ident("_cd_stage_" + target)
            self._exec(
                [
                    f"DROP TABLE IF EXISTS pg_temp.{stage}",
                    f"CREATE TEMP TABLE {stage} (LIKE {self._q(target)}) ON COMMIT DELETE ROWS",
                ]
            )

    def _write(self, plan: WriteBatch, tuples: list[tuple[Any, ...]]) -> None:
        import psycopg

        if plan.upsert and plan.keys_new:
            try:
                self._copy(plan, tuples, staged=False)
                return
            except psycopg.errors.UniqueViolation:
                plan.keys_new = False  # rolled back; from now on through the stage
        self._copy(plan, tuples, staged=plan.upsert)

    def _copy(self, plan: WriteBatch, tuples: list[tuple[Any, ...]], staged: bool) -> None:
        cols = ", ".join(ident(c) for c in plan.columns)
        with self._conn.transaction(), self._conn.cursor() as cur:
            into = ident("_cd_stage_" + plan.target) if staged else self._q(plan.target)
            with cur.copy(f"COPY {into} ({cols}) FROM STDIN") as copy:
                for row in tuples:
                    copy.write_row(row)
            if staged:
                if plan.hasher is not None:
                    self._drop_unchanged(cur, plan, into)
                cur.execute(
                    f"INSERT INTO {self._q(plan.target)} ({cols}) "
                    f"SELECT {cols} FROM {into}{self._upsert_clause(plan)}"
                )

    def _drop_unchanged(self, cur: Any, plan: WriteBatch, stage: str) -> None:
        """Take the rows whose stored checksum is unchanged out of the staged batch, so the
        upsert only meets new and changed keys. `ON CONFLICT DO UPDATE ... WHERE` alone locks
        every conflicting row even when it updates nothing: a write to each row's page (and
        WAL) that made a re-merge of unchanged data cost 1.8x a raw load. These are read-only
        index probes instead. The stage has no statistics, and a hash or merge join would scan
        the whole target per batch: the nested loop on the key's index is forced for this
        transaction only."""
        t, h, d = self._q(plan.target), ident(HASH_COLUMN), ident(DELETED_COLUMN)
        on = " AND ".join(f"t.{ident(k)} = s.{ident(k)}" for k in plan.key)
        cur.execute("SET LOCAL enable_hashjoin = off")
        cur.execute("SET LOCAL enable_mergejoin = off")
        cur.execute(f"DELETE FROM {stage} s USING {t} t WHERE {on} AND t.{h} = s.{h} AND t.{d} IS NULL")

    def _cursor(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._conn.execute(sql, params)

    def _refusal(self, exc: BaseException) -> bool:
        import psycopg

        # Data exceptions (class 22: a value too long, out of range, not valid in the
        # encoding) and constraint violations other than a duplicate key (handled by the
        # upsert); a lone surrogate psycopg cannot encode.
        return isinstance(exc, (psycopg.DataError, UnicodeEncodeError)) or (
            isinstance(exc, psycopg.IntegrityError) and not isinstance(exc, psycopg.errors.UniqueViolation)
        )

    def _disk_full(self, exc: BaseException) -> bool:
        import psycopg

        # 53100 disk_full; a temporary file that could not be written says "No space left".
        return isinstance(exc, psycopg.errors.DiskFull) or (
            isinstance(exc, psycopg.Error) and "No space left on device" in str(exc)
        )

    def _where(self) -> str:
        info = self._conn.info
        return f"`{info.dbname}` on {info.host}:{info.port}"

    def close(self) -> None:
        self._conn.close()


def _open(url: str, config: Mapping[str, Any]) -> PostgresDestination:
    return PostgresDestination(url, schema=config.get("schema"))


ENGINE = SqlEngine(
    name="postgresql",
    schemes=("postgresql", "postgresql+psycopg", "postgres"),
    url_form="postgresql://user@host/db",
    types={
        "string": "TEXT",
        "integer": "BIGINT",
        "number": "DOUBLE PRECISION",
        "boolean": "BOOLEAN",
        "datetime": "TIMESTAMP WITH TIME ZONE",
        "json": "JSONB",
    },
    to_sql={"json": json_text},
    open=_open,
)
