"""Destinations: where mapped records are written."""

from collections.abc import Mapping
from typing import Any

from hub.destinations import engines as _engines
from hub.destinations.destination import LINEAGE_COLUMNS, Destination, TableSpec, WriteMode
from hub.destinations.engines import SQL_ENGINES, engine_for
from hub.destinations.sql_base import SqlDestination
from hub.destinations.sql_engine import SqlEngine
from hub.errors import ConfigError

__all__ = [
    "Destination",
    "TableSpec",
    "WriteMode",
    "LINEAGE_COLUMNS",
    "SqlDestination",
    "SqlEngine",
    "SQL_ENGINES",
    "engine_for",
    "open_destination",
]


def open_destination(type_: str, config: Mapping[str, Any]) -> SqlDestination:
    """A `sql` destination on the engine its config's `url` scheme names (hub/destinations/engines.py)."""
    if type_ != "sql":
        raise ConfigError(f"unknown destination type `{type_}`; known: sql")
    url = config.get("url")
    if not url:
        raise ConfigError(f"destination config needs a `url` ({_engines.url_forms()})")
    return engine_for(url).open(url, config)
