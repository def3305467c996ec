"""connectors/onetrust offline: pages shaped like OneTrust's data subject profiles (v1),
page-number paging to `last`, the cursor, and errors at the transport."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests_mock

from hub.errors import FatalError
from hub.sources import DeclarativeSource
from tests.connectors.offline import query, read_stream

ROOT = Path(__file__).resolve().parents[3]
URL = "https://app-eu.onetrust.com/api/consentmanager/v1/datasubjects/profiles"
CONFIG = {
    "hostname": "app-eu.onetrust.com",
    "access_token": "ot-secret-token",
    "start_date": "2024-01-01T00:00:00Z",
    "page_size": 2,
    "backoff_factor": 0.01,
}

PURPOSE = {  # a purpose of a data subject, with the fields OneTrust's profiles carry
    "Id": "3e900659-de89-4184-bb1a-0bca2e822b39",
    "Name": "Marketing Emails",
    "Version": 3,
    "Status": "ACTIVE",
    "FirstTransactionDate": "2024-03-01T09:15:02.117",
    "LastTransactionDate": "2024-05-02T10:00:00.5",
    "WithdrawalDate": None,
    "ConsentDate": "2024-03-01T09:15:02.117",
    "TotalTransactionCount": 2,
    "Topics": [{"Id": "6ed69adf-51a3-4452-ab8b-6280d58dafe8", "Name": "Fishing"}],
    "CustomPreferences": [],
    "LastTransactionCollectionPointId": "21f16e84-8b2a-4217-8f52-b7bf6880df52",
    "LastTransactionCollectionPointVersion": 1,
}


def subject(n: int, purposes: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "Id": f"aa85841a-0141-4441-86af-c320ed6f0d{n:02d}",
        "Identifier": f"Bob{n}@Example.com",
        "Language": "en-GB",
        "CreatedDate": "2024-03-01T09:15:02.117",
        "LastUpdatedDate": f"2024-05-0{n}T10:00:00.25",
        "TestDataSubject": False,
        "Purposes": [PURPOSE] if purposes is None else purposes,
    }


def page(number: int, subjects: list[dict[str, Any]], last: bool) -> dict[str, Any]:
    return {
        "text": json.dumps(
            {
                "content": subjects,
                "number": number,
                "size": 2,
                "numberOfElements": len(subjects),
                "first": number == 0,
                "last": last,
                "requestContinuation": "opaque",
            }
        )
    }


def read(stream: str, state: dict[str, Any] | None = None) -> tuple[list[dict], list[dict]]:  # type: ignore[type-arg]
    source = DeclarativeSource(
        ROOT / "connectors" / "onetrust" / "manifest.yaml", CONFIG, in_child=False
    )  # the HTTP mocks live in this process
    return read_stream(source, stream, state)


def test_profiles_parse_as_is_and_pages_run_to_last_with_bearer_auth() -> None:
    with requests_mock.Mocker() as http:
        http.get(URL, [page(0, [subject(3), subject(2)], False), page(1, [subject(1)], True)])
        records, states = read("data_subjects")
    assert records == [subject(3), subject(2), subject(1)]
    first, second = http.request_history
    assert first.headers["Authorization"] == "Bearer ot-secret-token"
    assert query(first) == {"size": "2", "properties": "ignoreCount", "updatedSince": "2024-01-01T00:00:00"}
    assert query(second)["page"] == "1" and query(second)["updatedSince"] == "2024-01-01T00:00:00"
    # the newest LastUpdatedDate, to the second: the boundary subject is read again next time
    assert states[-1]["stream"]["stream_state"] == {"LastUpdatedDate": "2024-05-03T10:00:00"}


def test_an_empty_page_ends_the_read_even_without_last() -> None:
    body = json.loads(page(0, [subject(1)], False)["text"])
    del body["last"]
    with requests_mock.Mocker() as http:
        http.get(URL, [{"text": json.dumps(body)}, {"text": json.dumps({"content": []})}])
        records, _ = read("data_subjects")
    assert len(records) == 1 and len(http.request_history) == 2


def test_later_reads_ask_from_the_saved_cursor() -> None:
    state = {
        "type": "STREAM",
        "stream": {
            "stream_descriptor": {"name": "data_subjects"},
            "stream_state": {"LastUpdatedDate": "2024-05-03T10:00:00"},
        },
    }
    with requests_mock.Mocker() as http:
        http.get(URL, [page(0, [subject(3)], True)])
        records, _ = read("data_subjects", state)
    assert query(http.request_history[0])["updatedSince"] == "2024-05-03T10:00:00"
    assert len(records) == 1


def test_purpose_consents_are_one_record_per_subject_and_purpose() -> None:
    withdrawn = {
        **PURPOSE,
        "Id": "531dfa64-a963-4005-971a-d4dc48399ca7",
        "Name": "SMS",
        "Status": "WITHDRAWN",
        "WithdrawalDate": "2024-05-02T10:00:00.5",
    }
    with requests_mock.Mocker() as http:
        http.get(URL, [page(0, [subject(1, [PURPOSE, withdrawn]), subject(2, [])], True)])
        records, _ = read("purpose_consents")
    assert [(r["Key"], r["PurposeName"], r["Status"]) for r in records] == [
        (f"{subject(1)['Id']}:{PURPOSE['Id']}", "Marketing Emails", "ACTIVE"),
        (f"{subject(1)['Id']}:{withdrawn['Id']}", "SMS", "WITHDRAWN"),
    ]
    assert records[1]["Identifier"] == "Bob1@Example.com"
    assert records[1]["WithdrawalDate"] == "2024-05-02T10:00:00.5"
    assert records[0]["LastUpdatedDate"] == subject(1)["LastUpdatedDate"]


def test_429_waits_for_retry_after_then_reads_everything() -> None:
    with requests_mock.Mocker() as http:
        http.get(
            URL,
            [
                {
                    "status_code": 429,
                    "headers": {"Retry-After": "0.01"},
                    "json": {"status": 429, "message": "Too Many Requests"},
                },
                page(0, [subject(1)], True),
            ],
        )
        records, _ = read("data_subjects")
    assert len(records) == 1 and len(http.request_history) == 2


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_and_broken_pages_are_retried(status: int) -> None:
    with requests_mock.Mocker() as http:
        http.get(
            URL,
            [
                {"status_code": status, "json": {"status": status, "message": "boom"}},
                {"text": '{"content": [{"Id": "a'},  # cut off
                page(0, [subject(1)], True),
            ],
        )
        records, _ = read("data_subjects")
    assert len(records) == 1 and len(http.request_history) == 3


@pytest.mark.parametrize(
    "status,body,expected",
    [
        (
            401,
            {"error": "invalid_token", "error_description": "Access token expired: eyJ"},
            "Access token expired",
        ),
        (
            403,
            {"error": "insufficient_scope", "error_description": "Insufficient scope for this resource"},
            "Insufficient scope",
        ),
        (400, {"status": 400, "message": "Invalid date format for updatedSince"}, "updatedSince"),
        (404, {"status": 404, "message": "Not Found"}, "Not Found"),
    ],
)
def test_refusals_fail_at_once_with_onetrusts_reason(
    status: int, body: dict[str, Any], expected: str
) -> None:
    with requests_mock.Mocker() as http:
        http.get(URL, status_code=status, json=body)
        with pytest.raises(FatalError) as err:
            read("data_subjects")
    assert expected in str(err.value)
    assert len(http.request_history) == 1
    assert "ot-secret-token" not in str(err.value)


def test_retries_running_out_fail_with_the_reason() -> None:
    with requests_mock.Mocker() as http:
        http.get(URL, status_code=502, json={"status": 502, "message": "Bad Gateway"})
        with pytest.raises(Exception) as err:
            read("data_subjects")
    assert "OneTrust server error" in str(err.value)
    assert len(http.request_history) == 6  # the first try and 5 retries
