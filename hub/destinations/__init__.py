"""Destinations: where mapped records are written."""

from typing import Any

from hub.destinations.destination import LINEAGE_COLUMNS, Destination, TableSpec, WriteMode
from hub.destinations.sql_base import SqlDestination
from hub.errors import ConfigError

__all__ = [
    "Destination",
    "TableSpec",
    "WriteMode",
    "LINEAGE_COLUMNS",
    "SqlDestination",
    "open_destination",
]

_URL_FORMS = "sqlite:///path.db, postgresql://user@host/db or duckdb:///path.duckdb"


def open_destination(type_: str, config: dict[str, Any]) -> SqlDestination:
    if type_ != "sql":
        raise ConfigError(f"unknown destination type `{type_}`; known: sql")
    url = config.get("url")
    if not url:
        raise ConfigError(f"destination config needs a `url` ({_URL_FORMS})")
    if url.startswith("sqlite:///"):
        from hub.destinations.sql_sqlite import SqliteDestination

        return SqliteDestination(url)
    if url.startswith(("postgresql://", "postgresql+psycopg://", "postgres://")):
        from hub.destinations.sql_postgres import PostgresDestination

        return PostgresDestination(url, schema=config.get("schema"))
    if url.startswith("duckdb:///"):
        from hub.destinations.sql_duckdb import DuckDBDestination

        return DuckDBDestination(url)
    raise ConfigError(f"unsupported destination url `{url.split(':', 1)[0]}:...`; use {_URL_FORMS}")
