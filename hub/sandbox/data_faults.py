"""Data faults (hub/sandbox/faults.py DATA_FAULT_KINDS) applied to a JSON response: one
record left out of a list (`skip`), gone altogether (`deleted`), or served edited with its
old updatedAt (`stale`). Any API's records are found the same way: objects with an `id`
inside the response's lists (HubSpot `results`, Zendesk `users`, ...)."""

from __future__ import annotations

from typing import Any

import orjson

from hub.sandbox.faults import Fault

__all__ = ["apply_data_faults"]


def apply_data_faults(faults: list[Fault], path: str, body: bytes) -> tuple[bytes | None, list[Fault]]:
    """(the new body, or None when the record itself was fetched and is `deleted`; the faults
    that found their record). The body is unchanged when no fault found its record."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body, []
    hit: list[Fault] = []
    for fault in faults:
        if _apply(fault, path, data):
            hit.append(fault)
            if fault.kind == "deleted" and _is_record(path, data, fault.record):
                return None, hit
    return (orjson.dumps(data) if hit else body), hit


def _is_record(path: str, data: Any, record: str | None) -> bool:
    """A GET of the record itself (…/objects/contacts/17): the response is that object."""
    return (
        isinstance(data, dict) and path.rstrip("/").endswith(f"/{record}") and str(data.get("id")) == record
    )


def _apply(fault: Fault, path: str, data: Any) -> bool:
    if _is_record(path, data, fault.record):
        if fault.kind == "stale":
            _merge(data, fault.changes or {})
        return fault.kind in ("stale", "deleted")
    return _walk(fault, data)


def _walk(fault: Fault, node: Any) -> bool:
    found = False
    if isinstance(node, dict):
        for value in node.values():
            found = _walk(fault, value) or found
    elif isinstance(node, list):
        for i in range(len(node) - 1, -1, -1):
            item = node[i]
            if isinstance(item, dict) and "id" in item and str(item["id"]) == fault.record:
                found = True
                if fault.kind == "stale":
                    _merge(item, fault.changes or {})
                else:
                    del node[i]
            else:
                found = _walk(fault, item) or found
    return found


def _merge(target: dict[str, Any], changes: dict[str, Any]) -> None:
    for k, v in changes.items():
        if isinstance(v, dict) and isinstance(target.get(k), dict):
            _merge(target[k], v)
        else:
            target[k] = v
