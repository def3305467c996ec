"""Destinations: where mapped records are written."""

from typing import Any

from hub.destinations.destination import LINEAGE_COLUMNS, Destination, TableSpec, WriteMode
from hub.destinations.sql_destination import SqlDestination
from hub.errors import ConfigError

__all__ = [
    "Destination",
    "TableSpec",
    "WriteMode",
    "LINEAGE_COLUMNS",
    "SqlDestination",
    "open_destination",
]


def open_destination(type_: str, config: dict[str, Any]) -> SqlDestination:
    if type_ != "sql":
        raise ConfigError(f"unknown destination type `{type_}`; known: sql")
    if "url" not in config:
        raise ConfigError("destination config needs a `url` (sqlite:///... or postgresql://...)")
    return SqlDestination(config["url"], schema=config.get("schema"))
