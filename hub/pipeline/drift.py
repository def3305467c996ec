"""Schema drift: records that do not match the stream's declared JSON schema.

Records are still delivered (the mapping decides what it needs, and a record it
cannot map goes to the dead letters); drift is counted and reported in the run
summary and the audit log, so an API change is seen the day it ships:
a declared field whose values come with another type, a required field
missing, a field the schema does not allow (`additionalProperties: false`).
Types are checked in nested objects and arrays too (`contact.email`,
`line_items[].sku`); new and missing fields at the top level only. Fields are
counted on every record (per record shape, so it costs a set lookup); types are
checked on every 50th record and on the first record of each new shape.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["SchemaDrift"]

_SAMPLE_EVERY = 50
_JSON_TYPE = {
    type(None): "null",
    bool: "boolean",
    int: "integer",
    float: "number",
    str: "string",
    list: "array",
    dict: "object",
}


def _allowed(prop: Mapping[str, Any]) -> set[str] | None:
    declared = prop.get("type")
    if declared is None:
        return None  # anything goes
    types = {declared} if isinstance(declared, str) else set(declared)
    if "number" in types:
        types.add("integer")  # an integer is a number in JSON Schema
    return types


class _Node:
    """A compiled schema: the types a value may have, and what its properties and items must be."""

    __slots__ = ("types", "props", "items")

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self.types = _allowed(schema)
        props = schema.get("properties")
        self.props = (
            {name: _Node(p) for name, p in props.items() if isinstance(p, Mapping)}
            if isinstance(props, Mapping)
            else {}
        )
        items = schema.get("items")
        self.items = _Node(items) if isinstance(items, Mapping) else None


class SchemaDrift:
    def __init__(self, schema: Mapping[str, Any] | None) -> None:
        props = (schema or {}).get("properties") or {}
        self._declared = set(props)
        self._closed = (schema or {}).get("additionalProperties", True) is False
        self._required = set((schema or {}).get("required") or ())
        self._root = _Node({"properties": props})
        self._declared_types: dict[str, set[str] | None] = {}  # path -> its declared types
        self._shapes: Counter[frozenset[str]] = Counter()
        self._mismatch: Counter[tuple[str, str]] = Counter()
        self._seen = 0
        self._checked = 0
        self.enabled = bool(props)

    def observe(self, records: Iterable[Mapping[str, Any]]) -> None:
        if not self.enabled:
            return
        shapes = self._shapes
        for record in records:
            shape = frozenset(record)
            new_shape = shape not in shapes
            shapes[shape] += 1
            self._seen += 1
            if new_shape or self._seen % _SAMPLE_EVERY == 0:
                self._check_types(record)

    def _check_types(self, record: Mapping[str, Any]) -> None:
        self._checked += 1
        self._check_object(self._root, record, "")

    def _check_object(self, node: _Node, obj: Mapping[str, Any], prefix: str) -> None:
        for name, value in obj.items():
            child = node.props.get(name)
            if child is not None:
                self._check_value(child, value, prefix + name)

    def _check_value(self, node: _Node, value: Any, path: str) -> None:
        seen = _JSON_TYPE.get(type(value), "object")
        if node.types is not None and seen not in node.types:
            self._mismatch[(path, seen)] += 1
            self._declared_types[path] = node.types
            return  # what it holds cannot match what the schema says it holds
        if seen == "object" and node.props and isinstance(value, Mapping):
            self._check_object(node, value, path + ".")
        elif seen == "array" and node.items is not None:
            for item in value:
                self._check_value(node.items, item, path + "[]")

    def report(self) -> dict[str, Any] | None:
        """None when the records matched the schema."""
        new_fields: Counter[str] = Counter()
        missing: Counter[str] = Counter()
        for shape, n in self._shapes.items():
            for name in (shape - self._declared) if self._closed else ():
                new_fields[name] += n
            for name in self._required - shape:
                missing[name] += n
        if not new_fields and not missing and not self._mismatch:
            return None
        mismatches: dict[str, dict[str, Any]] = {}
        for (name, seen), n in sorted(self._mismatch.items()):
            entry = mismatches.setdefault(
                name, {"declared": sorted(self._declared_types[name] or ()), "seen": {}}
            )
            entry["seen"][seen] = n
        return {
            "new_fields": dict(sorted(new_fields.items())),
            "missing_required": dict(sorted(missing.items())),
            "type_mismatches": mismatches,
            "type_checked_records": self._checked,
        }
