"""connectors/zendesk offline: recorded real responses and Zendesk-shaped errors at the transport."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests_mock

from hub.errors import FatalError
from hub.sources import DeclarativeSource
from tests.connectors.offline import query, read_stream

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "fixtures" / "zendesk"
API = "https://acme.zendesk.com"
CONFIG = {
    "subdomain": "acme",
    "start_date": "2020-01-01T00:00:00Z",
    "backoff_factor": 0.01,
    "credentials": {"credentials": "api_token", "email": "agent@acme.com", "api_token": "tkn"},
}


def source(config: dict[str, Any] | None = None) -> DeclarativeSource:
    return DeclarativeSource(
        ROOT / "connectors" / "zendesk" / "manifest.yaml", config or CONFIG, in_child=False
    )  # the HTTP mocks live in this process


def read(
    stream: str, state: dict[str, Any] | None = None, config: dict[str, Any] | None = None
) -> tuple[list[dict], list[dict]]:  # type: ignore[type-arg]
    return read_stream(source(config), stream, state)


def page(kind: str, ids: list[int], after: str | None, end: bool) -> dict[str, Any]:
    return {
        "text": json.dumps(
            {
                kind: [{"id": i, "name": f"P {i}", "updated_at": f"2024-01-0{i}T00:00:00Z"} for i in ids],
                "after_cursor": after,
                "after_url": None,
                "before_cursor": None,
                "before_url": None,
                "end_of_stream": end,
            }
        )
    }


@pytest.mark.parametrize(
    ("stream", "fixture"),
    [
        ("users", "zendesk_incremental_users_cursor.json"),
        ("tickets", "zendesk_incremental_tickets_cursor.json"),
    ],
)
def test_recorded_real_responses_parse_as_is(stream: str, fixture: str) -> None:
    body = (FIXTURES / fixture).read_text()
    with requests_mock.Mocker() as http:
        http.get(f"{API}/api/v2/incremental/{stream}/cursor.json", text=body)
        records, states = read(stream)
    assert records == json.loads(body)[stream]
    newest = max(
        int(datetime.fromisoformat(r["updated_at"].replace("Z", "+00:00")).timestamp()) for r in records
    )
    # the state is the newest updated_at seen, never before the start it read from
    assert states[-1]["stream"]["stream_state"] == {"updated_at": str(max(newest, 1577836800))}
    # API-token auth, the first request names the start (unix seconds), one page only
    assert len(http.request_history) == 1
    sent = http.request_history[0]
    assert sent.headers["Authorization"] == "Basic " + base64.b64encode(b"agent@acme.com/token:tkn").decode()
    assert query(sent) == {"start_time": "1577836800", "per_page": "1000"}


def test_pages_follow_the_cursor_and_later_pages_send_only_the_cursor() -> None:
    with requests_mock.Mocker() as http:
        http.get(
            f"{API}/api/v2/incremental/users/cursor.json",
            [page("users", [1, 2], "c2", False), page("users", [3], "c3", True)],
        )
        records, _ = read("users")
    assert [r["id"] for r in records] == [1, 2, 3]
    first, second = (query(r) for r in http.request_history)
    assert "start_time" in first and "cursor" not in first
    assert second == {"cursor": "c2", "per_page": "1000"}


def test_a_later_sync_starts_at_the_saved_cursor_inclusive() -> None:
    state = {
        "type": "STREAM",
        "stream": {"stream_descriptor": {"name": "tickets"}, "stream_state": {"updated_at": "1793491200"}},
    }
    with requests_mock.Mocker() as http:
        http.get(f"{API}/api/v2/incremental/tickets/cursor.json", **page("tickets", [7], None, True))
        read("tickets", state)
    assert query(http.request_history[0])["start_time"] == "1793491200"


def test_organizations_page_by_end_time() -> None:
    url = f"{API}/api/v2/incremental/organizations.json"
    first = {
        "organizations": [{"id": 1, "updated_at": "2024-01-01T00:00:00Z"}],
        "count": 1,
        "end_time": 1704067200,
        "next_page": f"{url}?start_time=1704067200",
        "end_of_stream": False,
    }
    last = {
        "organizations": [
            {"id": 1, "updated_at": "2024-01-01T00:00:00Z"},
            {"id": 2, "updated_at": "2024-01-02T00:00:00Z"},
        ],
        "count": 2,
        "end_time": 1704153600,
        "next_page": None,
        "end_of_stream": True,
    }
    with requests_mock.Mocker() as http:
        http.get(url, [{"text": json.dumps(first)}, {"text": json.dumps(last)}])
        records, _ = read("organizations")
    assert [r["id"] for r in records] == [1, 1, 2]  # the boundary repeats; merge on id removes it
    assert query(http.request_history[1])["start_time"] == "1704067200"


def test_oauth_credentials_send_a_bearer_token() -> None:
    config = {**CONFIG, "credentials": {"credentials": "oauth2.0", "access_token": "oat"}}
    with requests_mock.Mocker() as http:
        http.get(f"{API}/api/v2/incremental/users/cursor.json", **page("users", [1], None, True))
        read("users", config=config)
    assert http.request_history[0].headers["Authorization"] == "Bearer oat"


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (401, {"error": "Couldn't authenticate you"}),
        (403, {"error": "Forbidden", "description": "You do not have access to this page."}),
    ],
)
def test_refused_credentials_fail_check_naming_them(status: int, body: dict[str, str]) -> None:
    with requests_mock.Mocker() as http:
        http.get(f"{API}/api/v2/incremental/users/cursor.json", status_code=status, text=json.dumps(body))
        result = source().check()
    assert not result.ok
    assert "credentials" in result.message and "refused" in result.message


def test_not_found_fails_the_read_with_zendesks_words() -> None:
    with requests_mock.Mocker() as http:
        http.get(
            f"{API}/api/v2/incremental/users/cursor.json",
            status_code=404,
            text=json.dumps({"error": "InvalidEndpoint", "description": "Not found"}),
        )
        with pytest.raises(FatalError, match="InvalidEndpoint"):
            read("users")


@pytest.mark.parametrize(
    "bad",
    [
        {
            "status_code": 429,
            "headers": {"Retry-After": "0"},
            "text": json.dumps({"error": "TooManyRequests", "description": "rate limit"}),
        },
        {"status_code": 500, "text": json.dumps({"error": "InternalError"})},
        {"status_code": 200, "text": "<html><h1>502 Bad Gateway</h1></html>"},  # malformed
        {"status_code": 200, "text": '{"users": [{"id": 1, "na'},  # truncated
    ],
)
def test_transient_responses_are_retried_and_nothing_is_lost(bad: dict[str, Any]) -> None:
    with requests_mock.Mocker() as http:
        http.get(f"{API}/api/v2/incremental/users/cursor.json", [bad, page("users", [1, 2], None, True)])
        records, _ = read("users")
    assert [r["id"] for r in records] == [1, 2]


def test_retries_exhausted_is_a_clear_failure_not_a_short_read() -> None:
    with requests_mock.Mocker() as http:
        http.get(f"{API}/api/v2/incremental/users/cursor.json", [{"status_code": 503, "text": "{}"}] * 6)
        with pytest.raises(FatalError, match="Zendesk server error"):
            read("users")


def test_a_ticket_events_page_that_cannot_advance_fails_instead_of_looping() -> None:
    """Zendesk's time-based export cannot page past 1000 items with one timestamp: the next
    page would start where this one did, for ever. The stream fails and says why."""
    url = f"{API}/api/v2/incremental/ticket_events.json"
    stuck = {
        "ticket_events": [
            {
                "id": i,
                "ticket_id": 7,
                "timestamp": 1704067200,
                "created_at": "2024-01-01T00:00:00Z",
                "child_events": [{"id": i * 10, "event_type": "Comment", "body": "hi"}],
            }
            for i in range(1000)
        ],
        "count": 1000,
        "end_time": 1704067200,
        "next_page": f"{url}?start_time=1704067200",
        "end_of_stream": False,
    }
    with requests_mock.Mocker() as http:
        http.get(url, text=json.dumps(stuck))
        with pytest.raises(FatalError, match="ticket events export is stuck: 1000 events share"):
            read("ticket_comments")
    assert len(http.request_history) == 1
