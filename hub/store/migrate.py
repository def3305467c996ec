"""Move the hub store to another database: runs, state, the audit chain and the secrets
together (`crossdock store migrate --to URL`).

Setting CROSSDOCK_STORE_URL alone starts an empty store there: checkpoints, run history,
the audit chain and the encrypted secrets stay behind. This copies every table of the
store, row for row, in one transaction on the target (all or nothing), then checks that
the counts match and that the copied audit chain still verifies with this workspace's keys.
The secrets stay encrypted: the ciphertext moves, the key file stays where it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Table, func, select, text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

from hub.errors import ConfigError, FatalError
from hub.store.engine import get_engine
from hub.store.schema import create_db_and_tables

__all__ = ["StoreMigration", "migrate_store"]

_CHUNK = 2000


@dataclass
class StoreMigration:
    source: str  # as shown: no password
    target: str
    rows: dict[str, int] = field(default_factory=dict)  # per table, copied


def migrate_store(source: Engine, target_url: str, *, shown_source: str, shown_target: str) -> StoreMigration:
    """Copy every store table from `source` to the store at `target_url`.

    `source` must be the engine of a hub context (its feature tables are registered, so
    SQLModel's metadata lists every table). Refused when the target is the same database,
    holds any row already, or a run is in progress (its last writes would be left behind).
    """
    from hub.store.models import SyncRun

    target = get_engine(target_url)
    if source.url == target.url:
        raise ConfigError(f"the store is already at {shown_target}: nothing to move")
    tables = list(SQLModel.metadata.sorted_tables)  # parents before children (foreign keys)
    with source.connect() as conn:
        running = conn.execute(select(SyncRun.id).where(SyncRun.status == "running")).scalars().all()  # type: ignore[call-overload]
    if running:
        raise ConfigError(
            f"run {', '.join(running)} is in progress: let it end (or `crossdock runs` to mark a dead "
            "one abandoned), then migrate"
        )
    create_db_and_tables(target)
    with target.connect() as conn:
        busy = [t.name for t in tables if _count(conn, t)]
    if busy:
        raise ConfigError(
            f"the store at {shown_target} already holds data (in {', '.join(busy[:5])}): "
            "migrate into an empty database, never over another store"
        )
    moved = StoreMigration(shown_source, shown_target)
    with source.connect() as src, target.begin() as dst:  # one transaction: all or nothing
        for table in tables:
            moved.rows[table.name] = _copy(src, dst, table)
        if dst.dialect.name == "postgresql":
            _advance_sequences(dst, tables)
    with source.connect() as src, target.connect() as dst:
        for table in tables:
            if _count(src, table) != _count(dst, table):
                raise FatalError(
                    f"store migration: table {table.name} holds {_count(dst, table)} rows at "
                    f"{shown_target} but {_count(src, table)} at {shown_source}; the old store is "
                    "unchanged, keep using it"
                )
    return moved


def _count(conn: Connection, table: Table) -> int:
    return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _copy(src: Connection, dst: Connection, table: Table) -> int:
    copied = 0
    result = src.execution_options(stream_results=True).execute(select(table))
    while rows := result.mappings().fetchmany(_CHUNK):
        dst.execute(table.insert(), [dict(r) for r in rows])
        copied += len(rows)
    return copied


def _advance_sequences(dst: Connection, tables: list[Table]) -> None:
    """Rows came with their ids: PostgreSQL's id sequences must start after them."""
    for table in tables:
        column = table.autoincrement_column
        if column is None:
            continue
        dst.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column.name}'), "
                f'coalesce((SELECT max("{column.name}") FROM "{table.name}"), 0) + 1, false)'
            )
        )
