"""The write-back HTTP client alone (respx): what it retries, what it does not, what it says."""

from __future__ import annotations

import httpx
import pytest
import respx

from hub.errors import FatalError, RetriableError
from hub.writeback import ApiClient, ApiResponse

BASE = "https://api.example.com"


def client(attempts: int = 4) -> ApiClient:
    return ApiClient(
        BASE,
        product="Example",
        headers={"Authorization": "Bearer s3cr3t-token"},
        max_attempts=attempts,
        backoff=0.01,
    )


@respx.mock
def test_429_waits_for_retry_after_then_succeeds() -> None:
    route = respx.post(f"{BASE}/items").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "0.05"}, json={"message": "slow down"}),
            httpx.Response(200, json={"ok": True}),
        ]
    )
    resp = client().request("POST", "/items", json={"a": 1})
    assert (resp.status, resp.body) == (200, {"ok": True})
    assert route.call_count == 2


@respx.mock
def test_5xx_timeouts_and_unreadable_bodies_are_retried() -> None:
    route = respx.post(f"{BASE}/items").mock(
        side_effect=[
            httpx.Response(503, text="unavailable"),
            httpx.ReadTimeout("read timed out"),
            httpx.Response(200, text='{"cut off'),
            httpx.Response(200, json={"ok": True}),
        ]
    )
    assert client(attempts=5).request("POST", "/items", json={}).body == {"ok": True}
    assert route.call_count == 4


@respx.mock
def test_running_out_of_retries_names_the_product_call_and_last_failure() -> None:
    respx.post(f"{BASE}/items").mock(return_value=httpx.Response(500, text="internal error"))
    with pytest.raises(RetriableError) as err:
        client(attempts=3).request("POST", "/items", json={})
    assert str(err.value) == ("Example POST /items: gave up after 3 attempts; last: HTTP 500 internal error")


@respx.mock
@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_are_fatal_at_once(status: int) -> None:
    route = respx.post(f"{BASE}/items").mock(
        return_value=httpx.Response(status, json={"message": "Authentication credentials not found"})
    )
    with pytest.raises(FatalError, match=f"Example refused the credentials \\(HTTP {status}"):
        client().request("POST", "/items", json={})
    assert route.call_count == 1
    assert "s3cr3t-token" not in str(route.calls[0].response.text)


@respx.mock
@pytest.mark.parametrize("status", [400, 404, 409, 422])
def test_other_client_errors_go_back_to_the_connector(status: int) -> None:
    respx.post(f"{BASE}/items").mock(return_value=httpx.Response(status, json={"why": "bad"}))
    resp = client().request("POST", "/items", json={})
    assert (resp.status, resp.body) == (status, {"why": "bad"})


@respx.mock
def test_settled_is_asked_after_a_failure_that_may_have_landed_and_stops_the_resend() -> None:
    route = respx.post(f"{BASE}/receipts").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "0"}, json={"message": "slow down"}),
            httpx.Response(502, text="bad gateway"),  # it may have landed
            httpx.Response(200, json={"receipt": "second"}),
        ]
    )
    asked: list[int] = []

    def settled() -> ApiResponse | None:
        asked.append(route.call_count)
        return ApiResponse(200, {"receipt": "found"}) if route.call_count >= 2 else None

    resp = client().request("POST", "/receipts", json={}, settled=settled)
    assert resp.body == {"receipt": "found"}
    assert asked == [2]  # not after the 429 (nothing landed), once after the 502
    assert route.call_count == 2


@respx.mock
def test_settled_is_still_asked_after_a_429_that_follows_a_failure_that_may_have_landed() -> None:
    route = respx.post(f"{BASE}/receipts").mock(
        side_effect=[
            httpx.ReadTimeout("read timed out"),  # may have landed
            httpx.Response(429, headers={"Retry-After": "0"}, json={"message": "slow down"}),
            httpx.Response(200, json={"receipt": "r1"}),
        ]
    )
    asked: list[int] = []

    def settled() -> ApiResponse | None:
        asked.append(route.call_count)
        return None

    assert client().request("POST", "/receipts", json={}, settled=settled).body == {"receipt": "r1"}
    assert asked == [1, 2]


@respx.mock
def test_settled_saying_no_lets_the_retry_go() -> None:
    route = respx.post(f"{BASE}/receipts").mock(
        side_effect=[httpx.ReadTimeout("read timed out"), httpx.Response(200, json={"receipt": "r1"})]
    )
    resp = client().request("POST", "/receipts", json={}, settled=lambda: None)
    assert resp.body == {"receipt": "r1"} and route.call_count == 2
