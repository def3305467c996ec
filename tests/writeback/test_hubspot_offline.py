"""HubSpot write-back alone, on responses shaped like the API reference's (respx)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import respx

from hub.errors import ConfigError, FatalError
from hub.writeback import BatchRefused, Change, load_writeback

ROOT = Path(__file__).resolve().parents[2]
URL = "https://api.hubapi.com/crm/v3/objects/contacts/batch/upsert"


def hubspot(**config: object):  # type: ignore[no-untyped-def]
    return load_writeback(
        ROOT,
        "hubspot",
        {"access_token": "pat-na1-secret", "max_attempts": 2, "backoff_factor": 0.01, **config},
    )


def change(i: int, email: str) -> Change:
    return Change(f"crossdock:p{i}", email, {"email": email, "firstname": f"F{i}"}, "create")


def test_prepare_maps_canonical_fields_and_leaves_unknown_values_out() -> None:
    api = hubspot(properties={"country": "hs_country_code"})
    key, payload = api.prepare(
        {
            "email": "ada@example.org",
            "first_name": "Ada",
            "last_name": None,
            "country": "GB",
            "archived": False,
        }
    )
    assert key == "ada@example.org"
    assert payload == {"email": "ada@example.org", "firstname": "Ada", "hs_country_code": "GB"}
    with pytest.raises(ValueError, match="no `email`"):
        api.prepare({"email": None, "first_name": "Nobody"})


@respx.mock
def test_207_multi_status_accepts_some_and_rejects_the_rest_with_hubspot_words() -> None:
    route = respx.post(URL).mock(
        return_value=httpx.Response(
            207,
            json={
                "status": "COMPLETE",
                "startedAt": "2026-11-25T10:00:00Z",
                "completedAt": "2026-11-25T10:00:01Z",
                "numErrors": 1,
                "results": [
                    {
                        "id": "512",
                        "new": True,
                        "archived": False,
                        "objectWriteTraceId": "0",
                        "properties": {"email": "a@example.org"},
                        "createdAt": "2026-11-25T10:00:00Z",
                        "updatedAt": "2026-11-25T10:00:00Z",
                    }
                ],
                "errors": [
                    {
                        "status": "error",
                        "category": "VALIDATION_ERROR",
                        "message": "Property values were not valid",
                        "context": {"objectWriteTraceId": ["1"]},
                        "errors": [],
                    }
                ],
            },
        )
    )
    outcomes = hubspot().upsert([change(0, "a@example.org"), change(1, "b@example.org")])
    assert [(o.accepted, o.remote_id) for o in outcomes] == [(True, "512"), (False, None)]
    assert outcomes[1].reason == "Property values were not valid"
    sent = json.loads(route.calls[0].request.content)
    assert sent["inputs"][1] == {
        "idProperty": "email",
        "id": "b@example.org",
        "properties": {"email": "b@example.org", "firstname": "F1"},
        "objectWriteTraceId": "1",
    }
    assert route.calls[0].request.headers["Authorization"] == "Bearer pat-na1-secret"


@respx.mock
def test_a_result_without_trace_id_is_matched_by_email_and_a_silent_input_is_rejected() -> None:
    respx.post(URL).mock(
        return_value=httpx.Response(
            200,
            json={"status": "COMPLETE", "results": [{"id": "9", "properties": {"email": "A@Example.org"}}]},
        )
    )
    outcomes = hubspot().upsert([change(0, "a@example.org"), change(1, "b@example.org")])
    assert outcomes[0].accepted and outcomes[0].remote_id == "9"
    assert not outcomes[1].accepted
    assert "neither a result nor an error" in (outcomes[1].reason or "")


@respx.mock
def test_a_400_for_the_whole_batch_is_a_batch_refusal() -> None:
    respx.post(URL).mock(
        return_value=httpx.Response(
            400,
            json={
                "status": "error",
                "category": "VALIDATION_ERROR",
                "correlationId": "x",
                "message": 'Property values were not valid: [{"error":"INVALID_EMAIL"}]',
            },
        )
    )
    with pytest.raises(BatchRefused, match="INVALID_EMAIL"):
        hubspot().upsert([change(0, "a@example.org")])


@respx.mock
def test_an_unknown_property_is_a_config_problem_not_a_record_problem() -> None:
    respx.post(URL).mock(
        return_value=httpx.Response(
            400,
            json={
                "status": "error",
                "category": "VALIDATION_ERROR",
                "message": 'Property values were not valid: [{"error":"PROPERTY_DOESNT_EXIST",'
                '"name":"shoe_size"}]',
            },
        )
    )
    with pytest.raises(FatalError, match="fix `properties` in the destination config"):
        hubspot().upsert([change(0, "a@example.org")])


def test_config_errors_name_the_key() -> None:
    with pytest.raises(ConfigError, match="destination.config.object"):
        hubspot(object="deals")
    with pytest.raises(ConfigError, match="access_token"):
        load_writeback(ROOT, "hubspot", {})


@respx.mock
def test_hubspot_new_false_is_a_contact_it_already_had() -> None:
    """Issue 19: HubSpot's `new` says whether the email matched an existing contact."""
    results = [
        {"id": "7", "new": False, "objectWriteTraceId": "0", "properties": {"email": "a@example.org"}},
        {"id": "8", "new": True, "objectWriteTraceId": "1", "properties": {"email": "b@example.org"}},
    ]
    respx.post(URL).mock(return_value=httpx.Response(200, json={"status": "COMPLETE", "results": results}))
    outcomes = hubspot().upsert([change(0, "a@example.org"), change(1, "b@example.org")])
    assert [(o.remote_id, o.existed) for o in outcomes] == [("7", True), ("8", False)]
