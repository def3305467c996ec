"""The sandbox's write endpoints enforce each product's own limits, validation and auth."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from hub.sandbox import Sandbox
from hub.sandbox.facebook import AUDIENCE_ID
from hub.sandbox.shopify import API


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox(seed=5, scale=50, port=0) as sandbox:
        yield sandbox


def post(sb: Sandbox, path: str, body: object, **kw: object) -> httpx.Response:
    return httpx.post(f"{sb.url}{path}", json=body, **kw)  # type: ignore[arg-type]


BEARER = {"Authorization": "Bearer sandbox-token"}


def test_hubspot_refuses_more_than_100_inputs_and_a_bad_token(sb: Sandbox) -> None:
    inputs = [{"idProperty": "email", "id": f"x{i}@example.org", "properties": {}} for i in range(101)]
    resp = post(sb, "/crm/v3/objects/contacts/batch/upsert", {"inputs": inputs}, headers=BEARER)
    assert resp.status_code == 400 and "<= 100" in resp.json()["message"]
    resp = post(
        sb,
        "/crm/v3/objects/contacts/batch/upsert",
        {"inputs": inputs[:1]},
        headers={"Authorization": "Bearer nope"},
    )
    assert resp.status_code == 401


def test_hubspot_refuses_repeated_ids_and_unknown_properties(sb: Sandbox) -> None:
    same = {"idProperty": "email", "id": "dup@example.org", "properties": {}}
    resp = post(sb, "/crm/v3/objects/contacts/batch/upsert", {"inputs": [same, same]}, headers=BEARER)
    assert resp.status_code == 400 and "Duplicate IDs" in resp.json()["message"]
    odd = {"idProperty": "email", "id": "a@example.org", "properties": {"shoe_size": "9"}}
    resp = post(sb, "/crm/v3/objects/contacts/batch/upsert", {"inputs": [odd]}, headers=BEARER)
    assert resp.status_code == 400 and "PROPERTY_DOESNT_EXIST" in resp.json()["message"]


def test_mailchimp_refuses_more_than_500_members(sb: Sandbox) -> None:
    list_id = sb.mailchimp.lists[0]["id"]
    members = [{"email_address": f"m{i}@example.org", "status_if_new": "pending"} for i in range(501)]
    resp = post(
        sb,
        f"/3.0/lists/{list_id}",
        {"members": members, "update_existing": True},
        auth=("any", "sandbox-token"),
    )
    assert resp.status_code == 400 and "500" in resp.json()["detail"]


def test_zendesk_refuses_more_than_100_users(sb: Sandbox) -> None:
    users = [{"email": f"z{i}@example.org", "name": "Z"} for i in range(101)]
    resp = post(
        sb,
        "/api/v2/users/create_or_update_many.json",
        {"users": users},
        auth=("agent@example.com/token", "sandbox-token"),
    )
    assert resp.status_code == 400 and resp.json()["error"] == "TooManyValues"


def test_facebook_refuses_a_bad_token_with_code_190_and_flags_unhashed_rows(sb: Sandbox) -> None:
    path = f"/v19.0/{AUDIENCE_ID}/users"
    body = {"payload": {"schema": ["EMAIL"], "data": [["plain@example.org"], ["a" * 64]]}}
    resp = post(sb, path, body, params={"access_token": "nope"})
    assert resp.status_code == 400 and resp.json()["error"]["code"] == 190
    resp = post(sb, path, body, params={"access_token": "sandbox-token"})
    assert resp.json()["num_invalid_entries"] == 1
    assert "plain@example.org" in resp.json()["invalid_entry_samples"]


def test_shopify_refuses_untracked_items_and_unknown_locations(sb: Sandbox) -> None:
    headers = {"X-Shopify-Access-Token": "sandbox-token"}
    untracked = sb.shopify.item_for("SKU-0003-0")
    resp = post(
        sb,
        f"{API}/inventory_levels/set.json",
        {"location_id": 65000000001, "inventory_item_id": untracked, "available": 1},
        headers=headers,
    )
    assert resp.status_code == 422
    resp = post(
        sb,
        f"{API}/inventory_levels/set.json",
        {"location_id": 1, "inventory_item_id": untracked, "available": 1},
        headers=headers,
    )
    assert resp.status_code == 404


def test_onetrust_refuses_a_wrong_token_and_an_unknown_purpose(sb: Sandbox) -> None:
    body = {
        "identifier": "a@example.org",
        "requestInformation": "nope",
        "purposes": [{"Id": "x", "TransactionType": "CONFIRMED"}],
    }
    assert post(sb, "/request/v1/consentreceipts", body).status_code == 401
    resp = post(sb, "/request/v1/consentreceipts", {**body, "requestInformation": "sandbox-token"})
    assert resp.status_code == 400 and "does not exist" in resp.json()["message"]
