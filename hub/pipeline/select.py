"""Which streams a run syncs (`--streams`) and the start state of a backfill (`--since`).

A backfill replaces, for that run only, the saved state of an incremental stream by one whose
cursor is DATE; the run then saves its own states as usual (the cursor returns to the newest
record it reads). Only a simple cursor can be rewritten generically: a stream state of one key
whose value is a date-time in a format we recognise or epoch seconds. Anything else (no state
yet, a partitioned or multi-key state) is refused before the run is recorded.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hub.errors import ConfigError
from hub.workspace import Connection

__all__ = ["select_streams", "parse_since", "since_state"]

# The cursor formats the shipped connectors save (hub/connectors/*/manifest.yaml), tried in order.
_FORMATS = (
    "%Y-%m-%dT%H:%M:%S.%fZ",
    "%Y-%m-%dT%H:%M:%SZ",
    "%Y-%m-%dT%H:%M:%S.%f%z",
    "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d",
)


def select_streams(conn: Connection, names: list[str] | None, *, file: str) -> list[str]:
    """The streams to sync, in the workspace's order; an unknown name is a ConfigError."""
    if not names:
        return list(conn.streams)
    unknown = [n for n in names if n not in conn.streams]
    if unknown:
        raise ConfigError(
            f"connection `{conn.name}` has no stream {', '.join(f'`{n}`' for n in unknown)}; "
            f"its streams: {', '.join(conn.streams)}",
            file=file,
            key=f"connections.{conn.name}.streams",
        )
    return [s for s in conn.streams if s in names]


def parse_since(since: str) -> datetime:
    """`--since` as a UTC instant: a date (2024-01-31) or an ISO date-time."""
    try:
        when = datetime.fromisoformat(since.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(
            f"--since `{since}` is not a date: give YYYY-MM-DD or an ISO date-time (2024-01-31T00:00:00Z)"
        ) from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def since_state(saved: dict[str, Any] | None, since: str, *, connection: str, stream: str) -> dict[str, Any]:
    """`saved` (the stream's stored Airbyte state message) with its cursor set to `since`;
    raises ConfigError when the state is not a simple cursor."""
    when = parse_since(since)
    where = f"connection `{connection}` stream `{stream}`"
    if not saved:
        raise ConfigError(
            f"--since: {where} has no saved cursor yet (it never synced incrementally): "
            "run it once without --since (it reads from the connector's start_date)"
        )
    inner = saved.get("stream") if saved.get("type", "STREAM") == "STREAM" else None
    stream_state = inner.get("stream_state") if isinstance(inner, dict) else None
    if not isinstance(stream_state, dict) or len(stream_state) != 1:
        raise ConfigError(
            f"--since: {where} keeps a state that is not one simple cursor "
            f"(keys: {', '.join(sorted(stream_state)) if isinstance(stream_state, dict) else '?'}); "
            "a backfill of it is not supported: use --full-refresh to read it all again"
        )
    ((key, value),) = stream_state.items()
    cursor = _format_like(value, when)
    if cursor is None:
        raise ConfigError(
            f"--since: {where} keeps its cursor `{key}` as {value!r}, a format a backfill cannot "
            "rewrite; use --full-refresh to read it all again"
        )
    return {**saved, "stream": {**inner, "stream_state": {key: cursor}}}  # type: ignore[dict-item]


def _format_like(value: Any, when: datetime) -> Any:
    """`when` written the way `value` is (epoch seconds, or one of _FORMATS); None if unknown."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return type(value)(when.timestamp())
    if not isinstance(value, str):
        return None
    if value.isdigit():
        return str(int(when.timestamp()))
    for fmt in _FORMATS:
        try:
            datetime.strptime(value, fmt)
        except ValueError:
            continue
        text = when.strftime(fmt)
        return text[:-2] + ":" + text[-2:] if fmt.endswith("%z") and value[-3:-2] == ":" else text
    return None
