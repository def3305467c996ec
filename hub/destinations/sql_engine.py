"""What a SQL engine declares: its URL schemes, its column types, its value converters, how to open it.

Each engine module (sql_sqlite.py, sql_postgres.py, sql_duckdb.py) defines one
`ENGINE = SqlEngine(...)`, and hub/destinations/engines.py lists them. An engine
module imports its driver inside `open` (or the methods that use it), so that
importing hub.destinations loads no driver it may never use.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hub.canonical import FieldType

if TYPE_CHECKING:
    from hub.destinations.sql_base import SqlDestination

__all__ = ["SqlEngine", "Converter"]

Converter = Callable[[Any], Any]


@dataclass(frozen=True)
class SqlEngine:
    name: str  # the dialect, as errors and docs name it
    # URL schemes this engine opens (`postgresql` for postgresql://...).
    schemes: tuple[str, ...]
    url_form: str  # an example URL, for error messages: `sqlite:///path.db`
    # Canonical field type -> the column type CREATE TABLE declares. type_of_declared()
    # reads existing columns back through this map (and a few shared aliases).
    types: Mapping[FieldType, str]
    # (url, destination config) -> an open destination; imports the driver.
    open: Callable[[str, Mapping[str, Any]], SqlDestination]
    # Field type -> converter for non-null values the driver does not take as they are.
    to_sql: Mapping[FieldType, Converter] = field(default_factory=dict)
    # Field type -> converter for non-null values read back, after the shared ones
    # (ISO text to datetime, JSON text to objects).
    from_sql: Mapping[FieldType, Converter] = field(default_factory=dict)
    # Imports what the first write will (the driver, its first-use imports) ahead of it: run
    # on a thread while the CLI waits for Prefect (hub/cli/app.py). None: nothing worth it.
    warm: Callable[[], None] | None = None
