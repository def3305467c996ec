"""The hub store's engine: SQLite file by default, PostgreSQL by URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel, create_engine

__all__ = ["get_engine", "create_db_and_tables", "default_store_url"]


def default_store_url(workspace_dir: Path) -> str:
    return f"sqlite:///{(workspace_dir / '.crossdock' / 'hub.db').resolve()}"


_ENGINES: dict[str, Engine] = {}


def get_engine(url: str) -> Engine:
    """The engine for `url`, one per process (each holds a connection pool).

    For SQLite the folder is created and WAL mode set: WAL lets a reader
    (`crossdock runs`) look while a sync writes, and the busy timeout makes two
    writers wait for each other instead of failing.
    """
    if url not in _ENGINES:
        _ENGINES[url] = _new_engine(url)
    return _ENGINES[url]


def _new_engine(url: str) -> Engine:
    if url.startswith("sqlite:///") and ":memory:" not in url:
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    engine = create_engine(url, connect_args={"timeout": 30} if url.startswith("sqlite") else {})
    if url.startswith("sqlite"):
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def create_db_and_tables(engine: Engine) -> None:
    """Create the store's tables and those of every feature imported so far.

    Each feature's table module registers its tables with SQLModel's metadata when it is
    imported; the hub context imports the features it wires before it calls this.
    """
    import hub.store.models  # noqa: F401 - the store's own tables

    SQLModel.metadata.create_all(engine)
