"""connectors/hubspot offline: recorded real responses and HubSpot-shaped errors at the transport."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests_mock
from airbyte_cdk.test.mock_http import HttpMocker, HttpRequest, HttpResponse

from hub.errors import FatalError
from hub.sources import STATE, DeclarativeSource
from tests.connectors.offline import read_stream

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "fixtures" / "hubspot"
API = "https://api.hubapi.com"
CONTACT_PROPS = (
    "email,firstname,lastname,phone,company,lifecyclestage,city,country,"
    "associatedcompanyid,createdate,lastmodifieddate,hs_object_id"
)
COMPANY_PROPS = (
    "name,domain,industry,phone,city,country,numberofemployees,annualrevenue,"
    "createdate,hs_lastmodifieddate,hs_object_id"
)


def source() -> DeclarativeSource:
    return DeclarativeSource(
        ROOT / "connectors" / "hubspot" / "manifest.yaml",
        {"access_token": "test-token", "start_date": "2020-01-01T00:00:00Z", "backoff_factor": 0.01},
        in_child=False,
    )  # the HTTP mocks live in this process


def list_request(obj: str, props: str, after: str | None = None) -> HttpRequest:
    params = {"limit": "100", "archived": "false", "properties": props}
    if after:
        params["after"] = after
    return HttpRequest(f"{API}/crm/v3/objects/{obj}", query_params=params)


def error(status: int, category: str, message: str) -> HttpResponse:
    return HttpResponse(
        json.dumps({"status": "error", "message": message, "correlationId": "6f3c", "category": category}),
        status,
    )


def read(stream: str, state: dict[str, Any] | None = None) -> tuple[list[dict], list[dict]]:  # type: ignore[type-arg]
    return read_stream(source(), stream, state)


@pytest.mark.parametrize(
    ("stream", "props", "fixture"),
    [
        ("contacts", CONTACT_PROPS, "hubspot_contacts.json"),
        ("companies", COMPANY_PROPS, "hubspot_companies.json"),
    ],
)
def test_recorded_real_responses_parse_as_is(
    stream: str, props: str, fixture: str, caplog: pytest.LogCaptureFixture
) -> None:
    body = (FIXTURES / fixture).read_text()
    with HttpMocker() as http:
        http.get(list_request(stream, props), HttpResponse(body))
        before = datetime.now(UTC)
        records, states = read(stream)
        after = datetime.now(UTC)
    # each record of a first sync carries the read's checkpoint, for the cursor to see
    checkpoints = {r.pop("fullReadStartedAt") for r in records}
    assert records == json.loads(body)["results"]
    # the first sync checkpoints when it started, less the lookback (not the newest updatedAt:
    # the list is in id order, so records changed behind the read would be skipped)
    state = states[-1]["stream"]["stream_state"]
    assert list(state) == ["fullReadStartedAt"] and checkpoints == {state["fullReadStartedAt"]}
    started = datetime.strptime(state["fullReadStartedAt"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert before - timedelta(minutes=10) <= started <= after - timedelta(minutes=10)
    # no record has that field by design: the CDK's warning about it is not shown
    assert "fullReadStartedAt" not in caplog.text


def page(ids: range, after: str | None) -> HttpResponse:
    body: dict[str, Any] = {
        "results": [
            {
                "id": str(i),
                "properties": {"email": f"p{i}@example.org"},
                "createdAt": "2024-01-01T00:00:00.000Z",
                "updatedAt": f"2024-01-0{i % 9 + 1}T00:00:00.000Z",
                "archived": False,
            }
            for i in ids
        ]
    }
    if after:
        body["paging"] = {"next": {"after": after, "link": "..."}}
    return HttpResponse(json.dumps(body))


def test_pages_follow_the_after_cursor_to_the_end() -> None:
    with HttpMocker() as http:
        http.get(list_request("contacts", CONTACT_PROPS), page(range(1, 4), "4"))
        http.get(list_request("contacts", CONTACT_PROPS, "4"), page(range(4, 6), None))
        records, _ = read("contacts")
    assert [r["id"] for r in records] == ["1", "2", "3", "4", "5"]


def test_later_syncs_search_from_the_saved_cursor_inclusive() -> None:
    # A day ago: inside the search's 30-day slice up to now, so one search is made.
    saved = (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0)
    state = {
        "type": "STREAM",
        "stream": {
            "stream_descriptor": {"name": "contacts"},
            "stream_state": {"updatedAt": saved.strftime("%Y-%m-%dT%H:%M:%S.000000Z")},
        },
    }
    # The upper bound is "now", so match any body here and check it afterwards.
    with requests_mock.Mocker() as http:
        http.post(f"{API}/crm/v3/objects/contacts/search", text=page(range(7, 8), None).body)
        records, _ = read("contacts", state)
    assert len(http.request_history) == 1
    body = http.request_history[0].json()
    low, high, key = body["filterGroups"][0]["filters"]
    assert (low["propertyName"], low["operator"], low["value"]) == (
        "lastmodifieddate",
        "GTE",
        int(saved.timestamp()) * 1000,
    )  # in ms, as an integer
    assert (high["propertyName"], high["operator"]) == ("lastmodifieddate", "LTE")
    # paged by key, not by offset: ids above the last one read, in id order
    assert (key["propertyName"], key["operator"], key["value"]) == ("hs_object_id", "GT", 0)
    assert body["sorts"] == [{"propertyName": "hs_object_id", "direction": "ASCENDING"}]
    assert "after" not in body
    assert [r["id"] for r in records] == ["7"]


def test_the_first_syncs_checkpoint_is_where_the_next_search_starts() -> None:
    saved = {"fullReadStartedAt": "2026-11-01T00:00:00.000000Z"}
    state = {"type": "STREAM", "stream": {"stream_descriptor": {"name": "contacts"}, "stream_state": saved}}
    with requests_mock.Mocker() as http:
        http.post(f"{API}/crm/v3/objects/contacts/search", text=page(range(7, 8), None).body)
        _, states = read("contacts", state)
    low = http.request_history[0].json()["filterGroups"][0]["filters"][0]
    assert (low["operator"], low["value"]) == ("GTE", 1793491200000)
    assert "updatedAt" in states[-1]["stream"]["stream_state"]


@pytest.mark.parametrize(("status", "category"), [(401, "INVALID_AUTHENTICATION"), (403, "MISSING_SCOPES")])
def test_refused_token_fails_check_naming_the_credential(status: int, category: str) -> None:
    with HttpMocker() as http:
        http.get(
            list_request("contacts", CONTACT_PROPS),
            error(status, category, "Authentication credentials not found."),
        )
        result = source().check()
    assert not result.ok
    assert "access_token" in result.message and "refused" in result.message


def test_not_found_fails_the_read_with_hubspots_message() -> None:
    with HttpMocker() as http:
        http.get(
            list_request("contacts", CONTACT_PROPS),
            error(404, "OBJECT_NOT_FOUND", "Unable to infer object type"),
        )
        with pytest.raises(FatalError, match="Unable to infer object type"):
            read("contacts")


@pytest.mark.parametrize(
    "bad",
    [
        HttpResponse(
            json.dumps(
                {
                    "status": "error",
                    "message": "You have reached your secondly limit.",
                    "errorType": "RATE_LIMIT",
                }
            ),
            429,
            {"Retry-After": "0"},
        ),
        error(500, "ERROR", "internal error"),
        HttpResponse("<html><h1>502 Bad Gateway</h1></html>", 200),  # malformed
        HttpResponse('{"results": [{"id": "1", "proper', 200),  # truncated
    ],
)
def test_transient_responses_are_retried_and_nothing_is_lost(bad: HttpResponse) -> None:
    with HttpMocker() as http:
        http.get(list_request("contacts", CONTACT_PROPS), [bad, page(range(1, 3), None)])
        records, _ = read("contacts")
    assert [r["id"] for r in records] == ["1", "2"]


def test_a_failed_first_read_checkpoints_start_date_not_its_start() -> None:
    # The CDK emits a stream's state even when the stream fails; that state must send the
    # next sync back to start_date, or it would go incremental from now and lose everything.
    states = []
    with HttpMocker() as http:
        http.get(list_request("contacts", CONTACT_PROPS), page(range(1, 4), "4"))
        http.get(
            list_request("contacts", CONTACT_PROPS, "4"), [error(503, "ERROR", "service unavailable")] * 6
        )
        with pytest.raises(FatalError, match="service unavailable"):
            for kind, payload in source().read("contacts", incremental=True, state=None):
                if kind == STATE:
                    states.append(payload["stream"]["stream_state"])
    assert states and all(s == {"fullReadStartedAt": "2020-01-01T00:00:00.000000Z"} for s in states)


def test_retries_exhausted_is_a_clear_failure_not_a_short_read() -> None:
    with HttpMocker() as http:
        http.get(list_request("contacts", CONTACT_PROPS), [error(503, "ERROR", "service unavailable")] * 6)
        with pytest.raises(FatalError, match="HubSpot server error.*service unavailable"):
            read("contacts")
