"""The HubSpot sandbox speaks the real API's paths, paging, search and errors."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from hub.sandbox import Sandbox
from hub.sandbox.people import generate

AUTH = {"Authorization": "Bearer sandbox-token"}


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox(seed=5, scale=1200) as sandbox:
        yield sandbox


@pytest.fixture
def client(sb: Sandbox) -> Iterator[httpx.Client]:
    sb.faults.clear()
    with httpx.Client(base_url=sb.url, headers=AUTH, timeout=10) as c:
        yield c


def all_pages(client: httpx.Client, obj: str, **params: str) -> list[dict]:  # type: ignore[type-arg]
    results, after = [], None
    while True:
        page = client.get(
            f"/crm/v3/objects/{obj}", params={"limit": 100, **params, **({"after": after} if after else {})}
        )
        assert page.status_code == 200
        body = page.json()
        results += body["results"]
        after = body.get("paging", {}).get("next", {}).get("after")
        if not after:
            assert "paging" not in body
            return results


def test_paging_returns_every_object_exactly_once(client: httpx.Client, sb: Sandbox) -> None:
    ids = [o["id"] for o in all_pages(client, "contacts")]
    assert len(ids) == len(set(ids)) == len(sb.hubspot.objects("contacts")) == 1200
    assert ids == sorted(ids, key=int)


def test_objects_have_hubspots_shape_and_rate_limit_headers(client: httpx.Client) -> None:
    resp = client.get("/crm/v3/objects/companies", params={"limit": 1})
    obj = resp.json()["results"][0]
    assert set(obj) == {"id", "properties", "createdAt", "updatedAt", "archived"}
    assert obj["properties"]["hs_lastmodifieddate"] == obj["updatedAt"]
    assert all(isinstance(v, str) for v in obj["properties"].values() if v is not None)
    assert resp.headers["X-HubSpot-RateLimit-Max"] == "190"


def test_properties_parameter_limits_what_comes_back(client: httpx.Client) -> None:
    obj = client.get("/crm/v3/objects/contacts", params={"limit": 1, "properties": "email"}).json()[
        "results"
    ][0]
    assert set(obj["properties"]) == {"email", "createdate", "lastmodifieddate", "hs_object_id"}


@pytest.mark.parametrize(
    ("headers", "path", "status", "category"),
    [
        ({}, "/crm/v3/objects/contacts", 401, "INVALID_AUTHENTICATION"),
        ({"Authorization": "Bearer wrong"}, "/crm/v3/objects/contacts", 401, "INVALID_AUTHENTICATION"),
        (AUTH, "/crm/v3/objects/contacts/999999", 404, "OBJECT_NOT_FOUND"),
        (AUTH, "/crm/v3/objects/contacts?limit=101", 400, "VALIDATION_ERROR"),
    ],
)
def test_errors_are_hubspot_shaped(
    sb: Sandbox, headers: dict[str, str], path: str, status: int, category: str
) -> None:
    resp = httpx.get(sb.url + path, headers=headers)
    assert resp.status_code == status
    assert resp.json()["status"] == "error" and resp.json()["category"] == category


def search(client: httpx.Client, op: str, value: int, after: int = 0, limit: int = 200) -> httpx.Response:
    return client.post(
        "/crm/v3/objects/contacts/search",
        json={
            "filterGroups": [
                {"filters": [{"propertyName": "lastmodifieddate", "operator": op, "value": value}]}
            ],
            "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
            "limit": limit,
            "after": str(after),
        },
    )


def test_search_gte_includes_records_at_the_bound_and_sorts(client: httpx.Client, sb: Sandbox) -> None:
    stamps = Counter(o["updatedAt"] for o in sb.hubspot.objects("contacts").values())
    tied, count = stamps.most_common(1)[0]
    assert count >= 2, "seeded data must hold ties on updatedAt"
    ms = int(datetime.fromisoformat(tied.replace("Z", "+00:00")).timestamp() * 1000)
    gte = search(client, "GTE", ms).json()
    gt = search(client, "GT", ms).json()
    assert gte["total"] - gt["total"] == count
    first = gte["results"][:count]
    assert all(r["updatedAt"] == tied for r in first)
    assert [r["id"] for r in first] == sorted((r["id"] for r in first), key=int)


def test_search_cannot_page_past_ten_thousand(client: httpx.Client) -> None:
    resp = search(client, "GTE", 0, after=9900, limit=200)
    assert resp.status_code == 400 and resp.json()["category"] == "VALIDATION_ERROR"


def test_updates_bump_the_modified_stamp(sb: Sandbox, client: httpx.Client) -> None:
    before = datetime.now(UTC)
    obj = sb.hubspot.update("contacts", "3", {"city": "Oslo"})
    assert obj["properties"]["city"] == "Oslo"
    assert datetime.fromisoformat(obj["updatedAt"].replace("Z", "+00:00")) >= before.replace(
        microsecond=before.microsecond // 1000 * 1000
    )
    found = search(client, "GTE", int(before.timestamp() * 1000) - 1).json()["results"]
    assert "3" in [r["id"] for r in found]


@pytest.mark.parametrize("kind", ["429", "500", "503", "malformed", "truncated", "slow"])
def test_each_fault_kind(sb: Sandbox, client: httpx.Client, kind: str) -> None:
    with sb.faults.planted("/crm/v3/objects/companies", kind, times=1, retry_after=2, delay=0.2):
        bad = client.get("/crm/v3/objects/companies", params={"limit": 5})
    good = client.get("/crm/v3/objects/companies", params={"limit": 5})
    assert good.status_code == 200 and len(good.json()["results"]) == 5
    if kind in ("429", "500", "503"):
        assert bad.status_code == int(kind) and bad.json()["status"] == "error"
        assert kind != "429" or bad.headers["Retry-After"] == "2"
    elif kind == "slow":
        assert bad.json() == good.json() and bad.elapsed.total_seconds() >= 0.2
    else:
        assert bad.status_code == 200
        with pytest.raises(ValueError):
            bad.json()


def test_admin_routes_control_faults_from_another_process(sb: Sandbox) -> None:
    assert (
        httpx.post(
            sb.url + "/_sandbox/faults",
            json={"path_prefix": "/crm/v3/objects/contacts", "kind": "503", "times": 1},
        ).status_code
        == 201
    )
    assert httpx.get(sb.url + "/crm/v3/objects/contacts", headers=AUTH).status_code == 503
    assert (
        httpx.post(sb.url + "/_sandbox/faults", json={"kind": "nope", "path_prefix": "/"}).status_code == 400
    )
    patched = httpx.patch(sb.url + "/_sandbox/hubspot/contacts/4", json={"city": "Rome"}).json()
    assert patched["properties"]["city"] == "Rome"
    dump = httpx.get(sb.url + "/_sandbox/hubspot/companies").json()
    assert len(dump) == len(sb.hubspot.objects("companies"))


def test_same_seed_same_people_with_realistic_mess() -> None:
    people, companies = generate(9, 2000)
    again, _ = generate(9, 2000)
    assert [(p.email, p.phone) for p in people] == [(p.email, p.phone) for p in again]
    emails = [p.email for p in people]
    assert any(e is None for e in emails)
    assert any(e and e.startswith("info@") for e in emails)
    assert any(e and e != e.strip().lower() for e in emails)
    assert len({p.phone[:1] for p in people if p.phone}) > 1  # several phone formats
