"""The hub store's engine: SQLite file by default, PostgreSQL by URL.

What goes wrong with the store itself (a file that is not a database, a
PostgreSQL database that does not exist, a full disk) is one line naming the
file or URL and what to do: a ConfigError for the first two, a FatalError
(`StoreDiskFullError`) for the disk, raised in place of the driver's error by
an engine `handle_error` hook, wherever the store is used.
"""

from __future__ import annotations

import errno
import re
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine, make_url
from sqlmodel import create_engine

from hub.errors import ConfigError, FatalError

__all__ = ["get_engine", "forget_engines", "default_store_url", "describe_store", "StoreDiskFullError"]


class StoreDiskFullError(FatalError):
    """The disk under the hub store is full: the write was rolled back."""


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


def forget_engines(url_part: str) -> None:
    """Close and forget the cached engines whose URL contains `url_part` (a schema or database
    that was dropped): their pooled connections would otherwise stay open for the process's life."""
    for url in [u for u in _ENGINES if url_part in u]:
        _ENGINES.pop(url).dispose()


def _new_engine(url: str) -> Engine:
    where = describe_store(url)
    if url.startswith("sqlite:///") and ":memory:" not in url:
        folder = Path(url.removeprefix("sqlite:///")).parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise StoreDiskFullError(
                    f"the hub store folder {folder} cannot be created: no "
                    "disk space left; free space on that disk and run "
                    "again"
                ) from None
            raise ConfigError(
                f"the hub store folder {folder} cannot be created "
                f"({exc.strerror}): fix its permissions or set "
                "CROSSDOCK_STORE_URL"
            ) from None
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    engine = create_engine(url, connect_args={"timeout": 30} if url.startswith("sqlite") else {})
    if url.startswith("sqlite"):
        event.listen(engine, "connect", _sqlite_pragmas)
    event.listen(engine, "handle_error", lambda context: _store_error(where, context.original_exception))
    return engine


def describe_store(url: str) -> str:
    """The store as an error names it: its file, or its URL without the password."""
    if url.startswith("sqlite:///"):
        return url.removeprefix("sqlite:///")
    try:
        return make_url(url).render_as_string(hide_password=True)
    except sa_exc.ArgumentError:
        return url.split("@")[-1]


_NO_DATABASE = re.compile(r'database "([^"]+)" does not exist')


def _store_error(where: str, original: BaseException) -> None:
    """Raise the one-line error for a store fault we know; return (keep the driver's) otherwise."""
    text = str(original).strip()
    first = text.splitlines()[0] if text else type(original).__name__
    if _is_disk_full(original):
        raise StoreDiskFullError(
            f"the hub store {where} has no disk space left ({first}): the write was rolled back "
            "(a sync's last batch was not checkpointed); free space on that disk and run again"
        )
    if isinstance(original, sqlite3.DatabaseError) and (
        "file is not a database" in text or "database disk image is malformed" in text
    ):
        raise ConfigError(
            f"the hub store {where} is not a readable SQLite database ({first}): move it aside "
            "(or restore it from a backup) and run again; a new empty store is created in its "
            "place, which forgets runs, checkpoints, secrets and the audit log"
        )
    match = _NO_DATABASE.search(text)
    if match is not None:
        raise ConfigError(
            f"the hub store database `{match.group(1)}` does not exist ({where}): create it "
            f"(`createdb {match.group(1)}`) or point CROSSDOCK_STORE_URL at one that exists"
        )


def _is_disk_full(original: BaseException) -> bool:
    import psycopg

    if isinstance(original, sqlite3.OperationalError):
        return getattr(
            original, "sqlite_errorcode", None
        ) == sqlite3.SQLITE_FULL or "database or disk is full" in str(original)
    return isinstance(original, psycopg.errors.DiskFull)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()
