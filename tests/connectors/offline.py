"""Helpers for the offline connector tests: read a stream in process, look at a request."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from hub.sources import RECORD, STATE, DeclarativeSource


def read_stream(
    source: DeclarativeSource,
    stream: str,
    state: dict[str, Any] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The stream's records and STATE messages, read incrementally from `state`."""
    records, states = [], []
    for kind, payload in source.read(stream, incremental=True, state=state):
        if kind == RECORD:
            records.append(payload)
        elif kind == STATE:
            states.append(payload)
    return records, states


def query(request: Any) -> dict[str, str]:
    """A mocked request's query parameters, one value each."""
    return {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}
