"""connectors/mailchimp offline: pages shaped like the API reference's examples, and its errors."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import requests_mock

from hub.errors import FatalError
from hub.sources import DeclarativeSource
from tests.connectors.offline import query, read_stream

ROOT = Path(__file__).resolve().parents[3]
API = "https://us6.api.mailchimp.com/3.0"
CONFIG = {
    "credentials": {"auth_type": "apikey", "apikey": "0123abcd-us6"},
    "start_date": "2020-01-01T00:00:00Z",
    "page_size": 2,
    "backoff_factor": 0.01,
}
LIST = {"id": "57afe96172", "name": "Newsletter", "date_created": "2024-01-01T00:00:00+00:00"}


def read(stream: str, state: dict[str, Any] | None = None) -> tuple[list[dict], list[dict]]:  # type: ignore[type-arg]
    source = DeclarativeSource(
        ROOT / "connectors" / "mailchimp" / "manifest.yaml", CONFIG, in_child=False
    )  # the HTTP mocks live in this process
    return read_stream(source, stream, state)


def member(n: int) -> dict[str, Any]:
    # The shape of the API reference's "List members info" example.
    return {
        "id": f"hash{n}",
        "email_address": f"p{n}@example.com",
        "unique_email_id": f"u{n}",
        "status": "subscribed",
        "merge_fields": {"FNAME": "Pat", "LNAME": f"Lee{n}", "PHONE": ""},
        "timestamp_opt": "2024-01-01T00:00:00+00:00",
        "last_changed": f"2024-02-0{n}T00:00:00+00:00",
        "list_id": LIST["id"],
        "tags": [],
    }


def page(key: str, items: list[dict[str, Any]], total: int) -> dict[str, Any]:
    return {"text": json.dumps({key: items, "total_items": total, "_links": []})}


def test_members_page_by_offset_to_total_items_with_the_key_as_password() -> None:
    with requests_mock.Mocker() as http:
        http.get(f"{API}/lists", **page("lists", [LIST], 1))
        http.get(
            f"{API}/lists/{LIST['id']}/members",
            [page("members", [member(1), member(2)], 3), page("members", [member(3)], 3)],
        )
        records, states = read("list_members")
    assert [r["member_key"] for r in records] == [f"{LIST['id']}-hash{n}" for n in (1, 2, 3)]
    calls = [query(r) for r in http.request_history if "/members" in r.url]
    assert [c["offset"] for c in calls if "offset" in c] == ["2"] and calls[0]["count"] == "2"
    assert calls[0]["since_last_changed"] == "2020-01-01T00:00:00+00:00"
    assert calls[0]["sort_field"] == "last_changed"
    assert (
        http.request_history[0].headers["Authorization"]
        == "Basic " + base64.b64encode(b"anystring:0123abcd-us6").decode()
    )
    assert "2024-02-03T00:00:00+00:00" in json.dumps(states[-1])  # per-list cursor


def test_email_activity_is_one_record_per_action_and_pages_by_items() -> None:
    campaign = {"id": "c1", "status": "sent", "send_time": "2024-03-01T00:00:00+00:00"}
    emails = [
        {
            "campaign_id": "c1",
            "list_id": LIST["id"],
            "email_id": f"hash{n}",
            "email_address": f"p{n}@example.com",
            "activity": [
                {"action": "open", "timestamp": "2024-03-02T00:00:00+00:00", "ip": "192.0.2.1"},
                {"action": "click", "timestamp": "2024-03-02T00:01:00+00:00", "ip": "192.0.2.1"},
            ],
        }
        for n in (1, 2, 3)
    ]
    with requests_mock.Mocker() as http:
        http.get(f"{API}/campaigns", **page("campaigns", [campaign], 1))
        http.get(
            f"{API}/reports/c1/email-activity", [page("emails", emails[:2], 3), page("emails", emails[2:], 3)]
        )
        records, _ = read("email_activity")
    assert len(records) == 6  # 3 addresses x 2 actions, none skipped by the paging
    assert {(r["email_id"], r["action"]) for r in records} == {
        (f"hash{n}", a) for n in (1, 2, 3) for a in ("open", "click")
    }
    assert records[0]["member_key"] == f"{LIST['id']}-hash1"
    assert query(http.request_history[-1])["offset"] == "2"


def test_refused_key_fails_check_naming_the_credentials() -> None:
    problem = {
        "type": "https://mailchimp.com/developer/marketing/docs/errors/",
        "title": "API Key Invalid",
        "status": 401,
        "detail": "Your API key may be invalid.",
        "instance": "x",
    }
    with requests_mock.Mocker() as http:
        http.get(f"{API}/lists", status_code=401, text=json.dumps(problem))
        source = DeclarativeSource(
            ROOT / "connectors" / "mailchimp" / "manifest.yaml", CONFIG, in_child=False
        )
        result = source.check()
    assert not result.ok and "credentials" in result.message and "API Key Invalid" in result.message


def test_not_found_fails_with_mailchimps_words() -> None:
    with requests_mock.Mocker() as http:
        http.get(
            f"{API}/lists",
            status_code=404,
            text=json.dumps(
                {"title": "Resource Not Found", "status": 404, "detail": "The resource could not be found."}
            ),
        )
        with pytest.raises(FatalError, match="Resource Not Found"):
            read("lists")


@pytest.mark.parametrize(
    "bad",
    [
        {
            "status_code": 429,
            "headers": {"Retry-After": "0"},
            "text": json.dumps({"title": "Too Many Requests"}),
        },
        {"status_code": 500, "text": "{}"},
        {"status_code": 200, "text": "<html>502</html>"},
        {"status_code": 200, "text": '{"lists": [{"id": "57af'},
    ],
)
def test_transient_responses_are_retried_and_nothing_is_lost(bad: dict[str, Any]) -> None:
    with requests_mock.Mocker() as http:
        http.get(f"{API}/lists", [bad, page("lists", [LIST], 1)])
        records, _ = read("lists")
    assert [r["id"] for r in records] == [LIST["id"]]
