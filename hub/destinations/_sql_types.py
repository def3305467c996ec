"""What every SQL engine shares about types: compatibility, widening, and the value conversions
common to all; each engine's own column types and converters are in its SqlEngine."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson

from hub.canonical import FieldType
from hub.destinations.sql_engine import SqlEngine

__all__ = [
    "json_text",
    "to_sql_value",
    "from_sql_value",
    "is_compatible",
    "widened",
    "type_of_declared",
]

# Existing column type -> new field types it can hold without losing anything.
_HOLDS: dict[FieldType, set[FieldType]] = {
    "string": {"string"},
    "integer": {"integer", "boolean"},
    "number": {"number", "integer"},
    "boolean": {"boolean"},
    "datetime": {"datetime"},
    "json": {"json"},
}


def is_compatible(existing: FieldType, new: FieldType) -> bool:
    return new in _HOLDS[existing]


# (existing column type, new field type) -> the wider type that holds both without loss.
_WIDENS: dict[tuple[FieldType, FieldType], FieldType] = {
    ("integer", "number"): "number",
    ("boolean", "integer"): "integer",
    ("boolean", "number"): "number",
}


def widened(existing: FieldType, new: FieldType) -> FieldType | None:
    """The type to change an existing column to so it holds `new`; None if no safe one."""
    return _WIDENS.get((existing, new))


_ALIASES: dict[str, FieldType] = {
    "character varying": "string",
    "varchar": "string",
    "integer": "integer",
    "int": "integer",
    "smallint": "integer",
    "real": "number",
    "numeric": "number",
    "double": "number",
    "float": "number",
    "timestamp without time zone": "datetime",
    "json": "json",
    "timestamptz": "datetime",
    "double precision": "number",
}


def type_of_declared(engine: SqlEngine, declared: str) -> FieldType | None:
    """The field type an existing column was declared with; None if we cannot tell."""
    declared = declared.strip().lower()
    for field_type, sql in engine.types.items():
        if sql.lower() == declared:
            return field_type
    return _ALIASES.get(declared)


def json_text(v: Any) -> str:
    """A JSON value as text, for drivers that take JSON columns as strings."""
    return orjson.dumps(v).decode()


def to_sql_value(
    engine: SqlEngine, type_: FieldType, column_type: FieldType | None = None
) -> Callable[[Any], Any] | None:
    """A converter for non-null values of `type_` going into a column of `column_type` (by
    default the same), or None when the driver takes them as they are."""
    column_type = column_type or type_
    to_sql = engine.to_sql.get(column_type)
    if column_type == type_ or type_ not in ("boolean", "integer"):
        return to_sql
    # a narrower value into a wider column (a bool into an integer column, say)
    coerce: Callable[[Any], Any] = int if column_type == "integer" else float
    return coerce if to_sql is None else (lambda v: to_sql(coerce(v)))


def from_sql_value(engine: SqlEngine, type_: FieldType, value: Any) -> Any:
    if value is None:
        return None
    if type_ == "datetime" and isinstance(value, str):
        return datetime.fromisoformat(value)
    if type_ == "json" and isinstance(value, str | bytes):
        return orjson.loads(value)
    from_sql = engine.from_sql.get(type_)
    return value if from_sql is None else from_sql(value)
