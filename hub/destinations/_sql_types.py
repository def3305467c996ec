"""Canonical field types -> SQL column types and Python value converters, per dialect."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson

from hub.canonical import FieldType

__all__ = ["SQL_TYPES", "to_sql_value", "from_sql_value", "is_compatible", "type_of_declared"]

SQL_TYPES: dict[str, dict[FieldType, str]] = {
    "sqlite": {"string": "TEXT", "integer": "INTEGER", "number": "REAL", "boolean": "BOOLEAN",
               "datetime": "TIMESTAMP", "json": "JSON"},
    "postgresql": {"string": "TEXT", "integer": "BIGINT", "number": "DOUBLE PRECISION",
                   "boolean": "BOOLEAN", "datetime": "TIMESTAMP WITH TIME ZONE",
                   "json": "JSONB"},
}

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


_ALIASES: dict[str, FieldType] = {
    "character varying": "string", "varchar": "string", "integer": "integer", "int": "integer",
    "smallint": "integer", "real": "number", "numeric": "number", "double": "number",
    "float": "number", "timestamp without time zone": "datetime", "json": "json",
}


def type_of_declared(dialect: str, declared: str) -> FieldType | None:
    """The field type an existing column was declared with; None if we cannot tell."""
    declared = declared.strip().lower()
    for field_type, sql in SQL_TYPES[dialect].items():
        if sql.lower() == declared:
            return field_type
    return _ALIASES.get(declared)


def _sqlite_datetime(v: datetime) -> str:
    # ISO-8601 in UTC so that text order is time order.
    if v.tzinfo is not UTC:
        v = v.astimezone(UTC)
    return v.isoformat(timespec="microseconds")


def _json(v: Any) -> str:
    return orjson.dumps(v).decode()


_TO_SQLITE: dict[FieldType, Callable[[Any], Any]] = {
    "datetime": _sqlite_datetime,
    "json": _json,
    "boolean": lambda v: 1 if v else 0,
}
_TO_POSTGRES: dict[FieldType, Callable[[Any], Any]] = {"json": _json}


def to_sql_value(dialect: str, type_: FieldType) -> Callable[[Any], Any] | None:
    """A converter for non-null values of `type_`, or None when the driver takes them as they are."""
    table = _TO_SQLITE if dialect == "sqlite" else _TO_POSTGRES
    return table.get(type_)


def from_sql_value(dialect: str, type_: FieldType, value: Any) -> Any:
    if value is None:
        return None
    if type_ == "datetime" and isinstance(value, str):
        return datetime.fromisoformat(value)
    if type_ == "json" and isinstance(value, str | bytes):
        return orjson.loads(value)
    if type_ == "boolean" and dialect == "sqlite":
        return bool(value)
    return value
