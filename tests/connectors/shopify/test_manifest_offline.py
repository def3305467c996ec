"""connectors/shopify offline: Shopify-shaped pages, Link-header paging and errors at the
transport (bodies shaped like the Admin REST API reference's examples)."""

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
API = "https://acme.myshopify.com/admin/api/2024-01"
CONFIG = {
    "shop": "acme",
    "access_token": "shpat_secret",
    "start_date": "2020-01-01T00:00:00Z",
    "backoff_factor": 0.01,
}

CUSTOMER = {  # the API reference's customer, trimmed
    "id": 207119551,
    "email": "bob.norman@mail.example.com",
    "created_at": "2024-01-01T10:00:00-05:00",
    "updated_at": "2024-01-02T10:00:00-05:00",
    "first_name": "Bob",
    "last_name": "Norman",
    "orders_count": 1,
    "state": "disabled",
    "total_spent": "199.65",
    "last_order_id": 450789469,
    "note": None,
    "verified_email": True,
    "tax_exempt": False,
    "tags": "Léon, Noël",
    "currency": "USD",
    "phone": "+16136120707",
    "addresses": [],
    "email_marketing_consent": {
        "state": "not_subscribed",
        "opt_in_level": None,
        "consent_updated_at": "2004-06-13T11:57:11-04:00",
    },
    "default_address": {"id": 207119551, "city": "Ottawa", "country_code": "CA", "default": True},
    "admin_graphql_api_id": "gid://shopify/Customer/207119551",
}


def source(config: dict[str, Any] | None = None) -> DeclarativeSource:
    return DeclarativeSource(
        ROOT / "connectors" / "shopify" / "manifest.yaml", config or CONFIG, in_child=False
    )  # the HTTP mocks live in this process


def read(stream: str, state: dict[str, Any] | None = None) -> tuple[list[dict], list[dict]]:  # type: ignore[type-arg]
    return read_stream(source(), stream, state)


def customers(ids: list[int], next_info: str | None = None) -> dict[str, Any]:
    page: dict[str, Any] = {
        "text": json.dumps(
            {"customers": [{**CUSTOMER, "id": i, "updated_at": f"2024-01-0{i}T10:00:00-05:00"} for i in ids]}
        )
    }
    if next_info:
        page["headers"] = {"Link": f'<{API}/customers.json?limit=250&page_info={next_info}>; rel="next"'}
    return page


def test_a_reference_shaped_customer_parses_as_is_with_token_auth() -> None:
    with requests_mock.Mocker() as http:
        http.get(f"{API}/customers.json", text=json.dumps({"customers": [CUSTOMER]}))
        records, states = read("customers")
    assert records == [CUSTOMER]
    assert states[-1]["stream"]["stream_state"] == {"updated_at": "2024-01-02T10:00:00-0500"}
    sent = http.request_history[0]
    assert sent.headers["X-Shopify-Access-Token"] == "shpat_secret"
    assert query(sent) == {
        "limit": "250",
        "updated_at_min": "2020-01-01T00:00:00+0000",
        "order": "updated_at asc",
    }


def test_pages_follow_the_link_header_and_send_only_page_info_and_limit() -> None:
    with requests_mock.Mocker() as http:
        http.get(f"{API}/customers.json", [customers([1, 2], "eyJsYXN0IjoyfQ"), customers([3])])
        records, _ = read("customers")
    assert [r["id"] for r in records] == [1, 2, 3]
    first, second = (query(r) for r in http.request_history)
    assert "updated_at_min" in first
    assert second == {"limit": "250", "page_info": "eyJsYXN0IjoyfQ"}  # Shopify refuses more


def test_orders_ask_for_every_status_on_the_first_page_only() -> None:
    order = {
        "id": 450789469,
        "name": "#1001",
        "email": "bob@example.com",
        "currency": "USD",
        "total_price": "598.94",
        "financial_status": "paid",
        "customer": {"id": 207119551},
        "line_items": [],
        "created_at": "2024-01-01T10:00:00-05:00",
        "updated_at": "2024-01-01T10:00:00-05:00",
    }
    with requests_mock.Mocker() as http:
        http.get(
            f"{API}/orders.json",
            [
                {
                    "text": json.dumps({"orders": [order]}),
                    "headers": {"Link": f'<{API}/orders.json?page_info=abc>; rel="next"'},
                },
                {"text": json.dumps({"orders": []})},
            ],
        )
        records, _ = read("orders")
    assert [r["id"] for r in records] == [450789469]
    assert query(http.request_history[0])["status"] == "any"
    assert "status" not in query(http.request_history[1])


def test_a_later_sync_starts_at_the_saved_cursor_inclusive() -> None:
    state = {
        "type": "STREAM",
        "stream": {
            "stream_descriptor": {"name": "customers"},
            "stream_state": {"updated_at": "2025-06-01T12:00:00-0500"},
        },
    }
    with requests_mock.Mocker() as http:
        http.get(f"{API}/customers.json", **customers([7]))
        read("customers", state)
    assert query(http.request_history[0])["updated_at_min"] == "2025-06-01T12:00:00-0500"


def test_inventory_levels_are_read_per_location() -> None:
    with requests_mock.Mocker() as http:
        http.get(
            f"{API}/locations.json",
            text=json.dumps(
                {
                    "locations": [
                        {"id": 487838322, "name": "Ottawa Store"},
                        {"id": 655441491, "name": "Warehouse"},
                    ]
                }
            ),
        )
        http.get(
            f"{API}/inventory_levels.json",
            text=json.dumps(
                {
                    "inventory_levels": [
                        {
                            "inventory_item_id": 808950810,
                            "location_id": 487838322,
                            "available": 9,
                            "updated_at": "2024-01-01T10:00:00-05:00",
                            "admin_graphql_api_id": "gid://shopify/InventoryLevel/487838322?inventory_item_id=808950810",
                        }
                    ]
                }
            ),
        )
        records, _ = read("inventory_levels")
    asked = [query(r).get("location_ids") for r in http.request_history if "inventory_levels" in r.url]
    assert sorted(asked) == ["487838322", "655441491"] and len(records) == 2


def test_a_refused_token_fails_check_naming_it() -> None:
    with requests_mock.Mocker() as http:
        http.get(
            f"{API}/locations.json",
            status_code=401,
            text=json.dumps(
                {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}
            ),
        )
        result = source().check()
    assert not result.ok and "access_token" in result.message


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (403, {"errors": "[API] This action requires merchant approval for read_customers scope."}),
        (404, {"errors": "Not Found"}),
    ],
)
def test_forbidden_and_not_found_fail_the_read_with_shopifys_words(status: int, body: Any) -> None:
    with requests_mock.Mocker() as http:
        http.get(f"{API}/customers.json", status_code=status, text=json.dumps(body))
        with pytest.raises(FatalError, match="Shopify"):
            read("customers")


@pytest.mark.parametrize(
    "bad",
    [
        {
            "status_code": 429,
            "headers": {"Retry-After": "0.0"},
            "text": json.dumps(
                {
                    "errors": "Exceeded 2 calls per second for api client. Reduce request "
                    "rates to resume uninterrupted service."
                }
            ),
        },
        {"status_code": 500, "text": json.dumps({"errors": "Internal Server Error"})},
        {"status_code": 200, "text": "<html><h1>502 Bad Gateway</h1></html>"},  # malformed
        {"status_code": 200, "text": '{"customers": [{"id": 1, "em'},  # truncated
    ],
)
def test_transient_responses_are_retried_and_nothing_is_lost(bad: dict[str, Any]) -> None:
    with requests_mock.Mocker() as http:
        http.get(f"{API}/customers.json", [bad, customers([1, 2])])
        records, _ = read("customers")
    assert [r["id"] for r in records] == [1, 2]


def test_retries_exhausted_is_a_clear_failure_not_a_short_read() -> None:
    with requests_mock.Mocker() as http:
        http.get(f"{API}/customers.json", [{"status_code": 503, "text": "{}"}] * 6)
        with pytest.raises(FatalError, match="Shopify server error"):
            read("customers")
