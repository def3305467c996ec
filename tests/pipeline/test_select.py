"""--since rewrites a simple cursor in the connector's own format, and refuses anything else."""

from __future__ import annotations

from typing import Any

import pytest

from hub.errors import ConfigError
from hub.pipeline.select import since_state


def state(stream_state: Any) -> dict[str, Any]:
    return {"type": "STREAM", "stream": {"stream_descriptor": {"name": "s"}, "stream_state": stream_state}}


@pytest.mark.parametrize(
    ("saved", "expected"),
    [
        ("2026-11-01T00:00:00.000000Z", "2024-01-31T00:00:00.000000Z"),  # hubspot
        ("2026-11-01T10:00:00Z", "2024-01-31T00:00:00Z"),
        ("2025-06-01T12:00:00-0500", "2024-01-31T00:00:00+0000"),  # shopify
        ("2025-06-01T12:00:00+02:00", "2024-01-31T00:00:00+00:00"),
        ("1577836800", "1706659200"),  # zendesk: epoch seconds as text
        (1577836800, 1706659200),
        ("2025-06-01", "2024-01-31"),
    ],
)
def test_a_simple_cursor_takes_the_date_in_its_own_format(saved: Any, expected: Any) -> None:
    out = since_state(state({"updated_at": saved}), "2024-01-31", connection="c", stream="s")
    assert out == state({"updated_at": expected})


def test_a_date_time_with_an_offset_is_taken_in_utc() -> None:
    out = since_state(
        state({"at": "2025-06-01T12:00:00Z"}), "2024-01-31T02:00:00+02:00", connection="c", stream="s"
    )
    assert out["stream"]["stream_state"] == {"at": "2024-01-31T00:00:00Z"}


@pytest.mark.parametrize(
    ("saved", "says"),
    [
        (None, "no saved cursor yet"),
        (
            state({"states": [{"partition": {"id": 1}, "cursor": {"at": "1"}}], "x": 1}),
            "not one simple cursor",
        ),
        (state({"a": "1", "b": "2"}), "not one simple cursor"),
        (state({"at": "last tuesday"}), "cannot rewrite"),
        (state({"at": {"nested": 1}}), "cannot rewrite"),
    ],
)
def test_anything_else_is_refused_naming_the_stream(saved: Any, says: str) -> None:
    with pytest.raises(ConfigError, match=says) as err:
        since_state(saved, "2024-01-31", connection="crm", stream="deals")
    assert "`crm` stream `deals`" in str(err.value)


def test_a_since_that_is_not_a_date_is_refused() -> None:
    with pytest.raises(ConfigError, match="is not a date"):
        since_state(state({"at": "1"}), "yesterday", connection="c", stream="s")
