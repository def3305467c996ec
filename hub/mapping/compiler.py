"""Compile a validated mapping into plain callables, then run them per batch.

Per field, one closure: extract (path / coalesce / const) -> functions -> type
check. A record whose field fails comes back as a dead letter with the reason.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hub.canonical import CanonicalField, Entity, FieldType
from hub.mapping.functions import Fn, parse_datetime
from hub.mapping.model import FieldRule, FilterRule

__all__ = [
    "CompiledField",
    "MappingBatch",
    "compile_getter",
    "compile_filter",
    "type_checker",
    "source_of",
    "run_batch",
    "mask_paths",
    "unmapped_remainder",
]

Getter = Callable[[dict[str, Any]], Any]
_MISSING = object()


@dataclass
class MappingBatch:
    rows: list[dict[str, Any]] = field(default_factory=list)
    dead: list[tuple[dict[str, Any], str]] = field(default_factory=list)
    filtered: int = 0


def compile_getter(path: str) -> Getter:
    """`a.b.0.c` -> a function reading that path; anything missing or mistyped is None."""
    parts: list[str | int] = [int(p) if p.isdigit() else p for p in path.split(".")]
    if len(parts) == 1 and isinstance(parts[0], str):
        key = parts[0]
        return lambda r: r.get(key)
    if len(parts) == 2 and all(isinstance(p, str) for p in parts):
        a, b = parts

        def two(r: dict[str, Any]) -> Any:
            inner = r.get(a)  # type: ignore[arg-type]
            return inner.get(b) if isinstance(inner, dict) else None

        return two

    def deep(r: dict[str, Any]) -> Any:
        node: Any = r
        for p in parts:
            if isinstance(p, int) and isinstance(node, list):
                node = node[p] if p < len(node) else None
            elif isinstance(node, dict):
                node = node.get(p)
            else:
                return None
            if node is None:
                return None
        return node

    return deep


def _coalesce(getters: list[Getter]) -> Getter:
    def first(r: dict[str, Any]) -> Any:
        for g in getters:
            v = g(r)
            if v is not None and v != "":
                return v
        return None

    return first


def type_checker(type_: FieldType) -> Fn:
    """value -> value of `type_` (safe coercions only), or ValueError."""
    if type_ == "string":

        def check_string(v: Any) -> Any:
            if isinstance(v, str):
                return v
            if isinstance(v, int | float) and not isinstance(v, bool):
                return str(v)
            raise ValueError(f"value {v!r} is not a string")

        return check_string
    if type_ == "integer":

        def check_int(v: Any) -> Any:
            if isinstance(v, int) and not isinstance(v, bool):
                return v
            raise ValueError(f"value {v!r} is not an integer (use `to_int`)")

        return check_int
    if type_ == "number":

        def check_number(v: Any) -> Any:
            if isinstance(v, int | float) and not isinstance(v, bool):
                return float(v)
            raise ValueError(f"value {v!r} is not a number (use `to_float`)")

        return check_number
    if type_ == "boolean":

        def check_bool(v: Any) -> Any:
            if isinstance(v, bool):
                return v
            raise ValueError(f"value {v!r} is not a boolean (use `to_bool`)")

        return check_bool
    if type_ == "datetime":
        return lambda v: v if isinstance(v, datetime) and v.tzinfo else parse_datetime(v)
    return lambda v: v  # json: any JSON value


@dataclass
class CompiledField:
    name: str
    target: CanonicalField
    source: str  # where the value comes from, for error messages
    getter: Getter
    steps: list[Fn]
    null_on_error: bool
    pii: bool = False

    def build(self) -> Callable[[dict[str, Any]], Any]:
        name, source, required, pii = self.name, self.source, self.target.required, self.pii
        getter, check, null_on_error = self.getter, type_checker(self.target.type), self.null_on_error
        steps = tuple(self.steps)

        def run(record: dict[str, Any]) -> Any:
            value = getter(record)
            try:
                for step in steps:
                    value = step(value)
                if value is not None:
                    value = check(value)
            except (ValueError, TypeError) as exc:
                if null_on_error and not required:
                    return None
                # Personal data stays out of the reason (dead letters are read by many).
                reason = _PII_VALUE if pii else str(exc)
                raise _FieldError(f"field `{name}` (from {source}): {reason}") from None
            if value is None and required:
                raise _FieldError(f"field `{name}` (from {source}): required but missing")
            return value

        return run


_PII_VALUE = "its value (personal data, not shown) cannot be converted to the field's type"


class _FieldError(Exception):
    pass


def source_of(rule: FieldRule) -> tuple[str, Getter]:
    if rule.path is not None:
        return f"`{rule.path}`", compile_getter(rule.path)
    if rule.coalesce is not None:
        return (
            f"first of {', '.join(f'`{p}`' for p in rule.coalesce)}",
            _coalesce([compile_getter(p) for p in rule.coalesce]),
        )
    const = rule.const
    return f"constant {const!r}", lambda _r: const


def compile_filter(rule: FilterRule) -> Callable[[dict[str, Any]], bool]:
    get = compile_getter(rule.path)
    fields = rule.model_fields_set
    if "equals" in fields:
        want = rule.equals
        return lambda r: get(r) == want
    if "not_equals" in fields:
        avoid = rule.not_equals
        return lambda r: get(r) != avoid
    if "in_" in fields:
        allowed = list(rule.in_ or [])
        return lambda r: get(r) in allowed
    if "not_in" in fields:
        banned = list(rule.not_in or [])
        return lambda r: get(r) not in banned
    present = bool(rule.exists)
    return lambda r: (get(r) is not None) == present


def run_batch(
    entity: Entity,
    fields: Sequence[tuple[str, Callable[[dict[str, Any]], Any]]],
    filters: Sequence[Callable[[dict[str, Any]], bool]],
    records: list[dict[str, Any]],
) -> MappingBatch:
    batch = MappingBatch()
    rows, dead = batch.rows, batch.dead
    for record in records:
        if filters and not all(f(record) for f in filters):
            batch.filtered += 1
            continue
        try:
            rows.append({name: fn(record) for name, fn in fields})
        except _FieldError as exc:
            dead.append((record, str(exc)))
        except Exception as exc:  # e.g. a record that is not an object
            dead.append((record, f"record could not be mapped: {type(exc).__name__}: {exc}"))
    return batch


def mask_paths(record: dict[str, Any], paths: Sequence[str], key: bytes) -> dict[str, Any]:
    """A deep copy of `record` with the values at `paths` replaced by a keyed hash.

    A hash rather than a blank: two dead letters of the same person still match. Keyed
    (HMAC), so a reader cannot confirm a guessed email by hashing it.
    """
    masked: dict[str, Any] = copy.deepcopy(record)
    for path in paths:
        parts: list[str | int] = [int(p) if p.isdigit() else p for p in path.split(".")]
        node: Any = masked
        for part in parts[:-1]:
            if isinstance(node, dict):
                node = node.get(part)
            elif isinstance(node, list) and isinstance(part, int) and part < len(node):
                node = node[part]
            else:
                node = None
            if node is None:
                break
        last = parts[-1]
        if isinstance(node, dict) and node.get(last) not in (None, ""):
            value = str(node[last])
            digest = hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:16]
            node[last] = "pii:" + digest
    return masked


def unmapped_remainder(read_paths: Sequence[str]) -> Callable[[dict[str, Any]], Any]:
    """record -> what is left of it once every path a field reads is taken out (containers
    left empty go too); None when nothing is left. Kept in a JSON column, so a source field
    no mapping names yet is not lost."""
    paths = [[int(p) if p.isdigit() else p for p in path.split(".")] for path in read_paths]

    def remainder(record: dict[str, Any]) -> Any:
        if not isinstance(record, dict):
            return None
        rest: dict[str, Any] = copy.deepcopy(record)
        for parts in paths:
            _drop(rest, parts)
        return rest or None

    return remainder


def _drop(node: Any, parts: list[str | int]) -> bool:
    """Remove the value at `parts` under `node`; True when `node` is left empty."""
    head, tail = parts[0], parts[1:]
    if isinstance(node, dict) and isinstance(head, str | int) and str(head) in node:
        key = str(head)
        if not tail or _drop(node[key], tail):
            del node[key]
        return not node
    if isinstance(node, list) and isinstance(head, int) and head < len(node):
        if not tail:
            return False  # list items keep their positions: the item stays
        _drop(node[head], tail)
    return False
