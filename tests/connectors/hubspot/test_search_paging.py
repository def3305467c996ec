"""connectors/hubspot offline: later syncs page the search by key, so HubSpot's real 10,000-result
paging cap never stops a window however many records changed in it; the sandbox keeps that cap."""

from __future__ import annotations

import bisect
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import requests_mock

from hub.sandbox.hubspot import SEARCH_CAP, HubSpot
from hub.sandbox.server import Request
from tests.connectors.hubspot.test_manifest_offline import API, read

CHANGES = 25_000
SINCE = datetime(2026, 11, 1, tzinfo=UTC)


def ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


class FakeSearch:
    """HubSpot's search over one object type, as it answers: filters (GT/GTE/LT/LTE on the
    modified date and hs_object_id), one sort, `limit` <= 200, `total`, `after` as an offset,
    400 past the cap. Held as sorted integer columns so 25,000 records answer fast."""

    def __init__(self, stamps: dict[int, int], cap: int = SEARCH_CAP) -> None:
        self.ids = sorted(stamps)
        self.stamps = stamps
        self.cap = cap
        self.bodies: list[dict[str, Any]] = []
        self._windows: dict[tuple[tuple[str, int], ...], list[int]] = {}

    def _in_window(self, window: tuple[tuple[str, int], ...]) -> list[int]:
        """Ids (ascending) whose modified date passes every date filter; cached per window."""
        if window not in self._windows:
            tests: list[Callable[[int], bool]] = [
                {
                    "GT": lambda s, v=v: s > v,
                    "GTE": lambda s, v=v: s >= v,
                    "LT": lambda s, v=v: s < v,
                    "LTE": lambda s, v=v: s <= v,
                }[op]
                for op, v in window
            ]
            self._windows[window] = [i for i in self.ids if all(t(self.stamps[i]) for t in tests)]
        return self._windows[window]

    def __call__(self, request: Any, context: Any) -> dict[str, Any]:
        body = request.json()
        self.bodies.append(body)
        limit, after = int(body.get("limit", 10)), int(body.get("after") or 0)
        if after + limit > self.cap:
            context.status_code = 400
            return {
                "status": "error",
                "category": "VALIDATION_ERROR",
                "correlationId": "1",
                "message": f"paging past {self.cap} results is not supported",
            }
        window, above = [], 0
        for f in body["filterGroups"][0]["filters"]:
            if f["propertyName"] == "hs_object_id":
                assert f["operator"] == "GT", f
                above = int(f["value"])
            else:
                window.append((f["operator"], int(f["value"])))
        matched = self._in_window(tuple(window))
        matched = matched[bisect.bisect_right(matched, above) :]
        (sort,) = body["sorts"]
        if sort["propertyName"] != "hs_object_id":
            matched = sorted(matched, key=lambda i: (self.stamps[i], i))
        results = [
            {
                "id": str(i),
                "properties": {"hs_object_id": str(i)},
                "createdAt": "2024-01-01T00:00:00.000Z",
                "archived": False,
                "updatedAt": datetime.fromtimestamp(self.stamps[i] / 1000, UTC).strftime(
                    "%Y-%m-%dT%H:%M:%S.%f"
                )[:-3]
                + "Z",
            }
            for i in matched[after : after + limit]
        ]
        out: dict[str, Any] = {"total": len(matched), "results": results}
        if after + limit < len(matched):
            out["paging"] = {"next": {"after": str(after + limit)}}
        return out


def test_more_changes_than_the_real_cap_in_one_window_are_all_read() -> None:
    rng = random.Random(3)
    # 25,000 contacts changed since the saved cursor, in no particular id order, all in one
    # 30-day slice: an offset pager (sorted by date) would stop at the 10,000th.
    stamps = {
        oid: ms(SINCE + timedelta(seconds=rng.randint(0, 20 * 86400)))
        for oid in rng.sample(range(1, 90_000), CHANGES)
    }
    search = FakeSearch(stamps)
    state = {
        "type": "STREAM",
        "stream": {
            "stream_descriptor": {"name": "contacts"},
            "stream_state": {"updatedAt": "2026-11-01T00:00:00.000000Z"},
        },
    }
    with requests_mock.Mocker() as http:
        http.post(f"{API}/crm/v3/objects/contacts/search", json=search)
        records, states = read("contacts", state)
    ids = [int(r["id"]) for r in records]
    assert len(ids) == len(set(ids)) == CHANGES
    assert set(ids) == set(stamps)
    assert all("after" not in b for b in search.bodies)  # keyset: no offset is ever sent
    # each window is read as pages of ids above the last one read (one request per page)
    assert len(search.bodies) <= CHANGES // 200 + 2 * 3
    newest = datetime.fromtimestamp(max(stamps.values()) / 1000, UTC)
    assert states[-1]["stream"]["stream_state"]["updatedAt"] == newest.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def search_request(hubspot: HubSpot, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    req = Request("POST", "/crm/v3/objects/contacts/search", {}, {}, orjson.dumps(body), {"type": "contacts"})
    resp = hubspot._search(req, "contacts")
    return resp.status, orjson.loads(resp.body)


def test_the_sandbox_pages_search_like_hubspot_with_the_real_cap_by_default() -> None:
    hubspot = HubSpot(seed=1, scale=300, token="t")
    assert hubspot.search_cap == SEARCH_CAP == 10_000
    status, body = search_request(hubspot, {"limit": 200, "after": 9_800})
    assert status == 200 and body["total"] == 300 and body["results"] == []
    status, body = search_request(hubspot, {"limit": 200, "after": 9_801})
    assert status == 400 and "paging past 10000 results is not supported" in body["message"]

    # keyset filters and sorts, with the total of what matches
    status, body = search_request(
        hubspot,
        {
            "limit": 5,
            "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
            "filterGroups": [
                {
                    "filters": [
                        {"propertyName": "hs_object_id", "operator": "GT", "value": "250"},
                        {"propertyName": "lastmodifieddate", "operator": "GTE", "value": 0},
                        {"propertyName": "lastmodifieddate", "operator": "LT", "value": "4102444800000"},
                    ]
                }
            ],
        },
    )
    assert status == 200 and body["total"] == 50
    assert [r["id"] for r in body["results"]] == ["251", "252", "253", "254", "255"]
    assert body["paging"]["next"]["after"] == "5"


def test_the_sandbox_runs_a_hook_after_the_nth_page_is_built() -> None:
    hubspot = HubSpot(seed=1, scale=300, token="t")
    calls: list[tuple[int, list[str]]] = []

    def hook(n: int, ids: list[str]) -> bool:
        calls.append((n, ids))
        return n == 2  # done after page 2

    hubspot.after_page("search", "contacts", hook)
    for after in (0, 3, 6):
        search_request(hubspot, {"limit": 3, "after": after})
    assert calls == [(1, ["1", "2", "3"]), (2, ["4", "5", "6"])]
