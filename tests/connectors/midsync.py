"""Helpers for the mid-sync change tests: read a connector's stream against a live sandbox
twice (a first sync, then the next incremental run from the state the first one saved) and
compare what arrived with what the sandbox holds.

The flaw they guard against: a read over an endpoint that is not ordered by the cursor
saves the newest cursor value it saw; a record changed behind the read (already served)
with an older stamp than one changed ahead of it (not yet served) then falls below the
saved state and never arrives. Offset paging over a list that moves under it (a changed
record jumps to the end and every later one shifts back) skips a record the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from hub.sources import DeclarativeSource
from tests.connectors.offline import read_stream

__all__ = ["CONNECTORS", "read", "latest"]

CONNECTORS = Path(__file__).resolve().parents[2] / "connectors"


def read(
    connector: str, stream: str, config: dict[str, Any], state: dict[str, Any] | None = None
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The stream's records and the last state the read emitted (what the pipeline saves)."""
    source = DeclarativeSource(CONNECTORS / connector / "manifest.yaml", config, in_child=False)
    records, states = read_stream(source, stream, state)
    return records, (states[-1] if states else None)


def latest(
    runs: list[list[dict[str, Any]]], key: Callable[[dict[str, Any]], Any]
) -> dict[Any, dict[str, Any]]:
    """key -> the last version read, over the runs in order: what a merging destination holds."""
    out: dict[Any, dict[str, Any]] = {}
    for records in runs:
        for record in records:
            out[key(record)] = record
    return out
