"""Canonical field types -> SQL column types and Python value converters, per dialect."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson

from hub.canonical import FieldType

__all__ = [
    "SQL_TYPES", "to_sql_value", "from_sql_value", "is_compatible", "widened", "type_of_declared",
]

SQL_TYPES: dict[str, dict[FieldType, str]] = {
    "sqlite": {"string": "TEXT", "integer": "INTEGER", "number": "REAL", "boolean": "BOOLEAN",
               "datetime": "TIMESTAMP", "json": "JSON"},
    "postgresql": {"string": "TEXT", "integer": "BIGINT", "number": "DOUBLE PRECISION",
                   "boolean": "BOOLEAN", "datetime": "TIMESTAMP WITH TIME ZONE",
                   "json": "JSONB"},
    "duckdb": {"string": "VARCHAR", "integer": "BIGINT", "number": "DOUBLE", "boolean": "BOOLEAN",
               "datetime": "TIMESTAMP WITH TIME ZONE", "json": "JSON"},
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
    "character varying": "string", "varchar": "string", "integer": "integer", "int": "integer",
    "smallint": "integer", "real": "number", "numeric": "number", "double": "number",
    "float": "number", "timestamp without time zone": "datetime", "json": "json",
    "timestamptz": "datetime", "double precision": "number",
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
_TO_DUCKDB: dict[FieldType, Callable[[Any], Any]] = {"json": _json}
_TO = {"sqlite": _TO_SQLITE, "postgresql": _TO_POSTGRES, "duckdb": _TO_DUCKDB}


def to_sql_value(dialect: str, type_: FieldType,
                 column_type: FieldType | None = None) -> Callable[[Any], Any] | None:
    """A converter for non-null values of `type_` going into a column of `column_type` (by
    default the same), or None when the driver takes them as they are."""
    column_type = column_type or type_
    to_sql = _TO[dialect].get(column_type)
    if column_type == type_ or type_ not in ("boolean", "integer"):
        return to_sql
    # a narrower value into a wider column (a bool into an integer column, say)
    coerce: Callable[[Any], Any] = int if column_type == "integer" else float
    return coerce if to_sql is None else (lambda v: to_sql(coerce(v)))


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
