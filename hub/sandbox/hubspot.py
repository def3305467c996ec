"""HubSpot CRM v3, emulated: contacts and companies with the real paths, shapes and paging.

- GET  /crm/v3/objects/{type}?limit&after&properties&archived  (limit <= 100, id order)
- GET  /crm/v3/objects/{type}/{id}
- POST /crm/v3/objects/{type}/batch/read  (<= 100 inputs by id or a unique `idProperty`;
  `properties`; ids it has not are left out, as HubSpot does, and listed under `errors`)
- POST /crm/v3/objects/{type}/search  (filterGroups of EQ/NEQ/GT/GTE/LT/LTE/BETWEEN filters on
  any property, dates as epoch ms or ISO; sorts; limit <= 200; `total` in every response;
  `after` is an offset into the current results, refused with 400 once it pages past
  `search_cap` results, 10,000 as in HubSpot)
- POST /crm/v3/objects/{type}/batch/upsert  (<= 100 inputs by a unique property; one invalid
  value, unknown property or repeated id refuses the whole batch with 400, as HubSpot does)
Auth is a Bearer token; every response carries HubSpot's rate-limit headers.

`properties=` on a list, a search or a batch read returns only the asked properties (and the few
HubSpot always returns). For tests, `list_reads` records the `properties` asked by each list page
and `batch_reads` the ids asked by each batch read.

For tests: `search_cap` lowers the paging cap (keep the default unless the test is about it);
`after_page(kind, object_type, hook)` calls `hook(n, ids)` after each list or search page is
built (before it is sent) until it returns True: a test changes data while a client pages.
"""

from __future__ import annotations

import bisect
import copy
import random
import re
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from hub.sandbox.people import EPOCH, FIRST, LAST, STAGES, Company, Person, generate
from hub.sandbox.server import Request, Response, Router, json_response

__all__ = ["HubSpot", "SEARCH_CAP"]

OBJECT_TYPES = ("contacts", "companies", "deals")
MODIFIED = {
    "contacts": "lastmodifieddate",
    "companies": "hs_lastmodifieddate",
    "deals": "hs_lastmodifieddate",
}
DEAL_STAGES = (
    "appointmentscheduled",
    "qualifiedtobuy",
    "presentationscheduled",
    "decisionmakerboughtin",
    "contractsent",
    "closedwon",
    "closedlost",
)
SEARCH_CAP = 10_000  # HubSpot refuses to page a search past 10,000 results
_BATCH_LIMIT = 100
_UNIQUE = {
    "contacts": {"email", "hs_object_id"},
    "companies": {"domain", "hs_object_id"},
    "deals": {"hs_object_id"},
}
_WRITABLE = {
    "contacts": {
        "email",
        "firstname",
        "lastname",
        "phone",
        "company",
        "lifecyclestage",
        "city",
        "country",
        "associatedcompanyid",
        "hs_object_id",
        "crossdock_consent",  # a custom property, as a portal would create for the consent flag
        "crossdock_offer",  # custom properties for a person's offer (docs/governance.md, stock)
        "crossdock_offer_title",
    },
    "companies": {
        "name",
        "domain",
        "industry",
        "phone",
        "city",
        "country",
        "numberofemployees",
        "annualrevenue",
        "hs_object_id",
    },
    "deals": {"dealname", "amount", "dealstage", "pipeline", "closedate", "hubspot_owner_id", "hs_object_id"},
}
_STAGES = {*STAGES, "other"}
PageHook = Callable[[int, list[str]], bool]
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def _ms(value: str) -> int:
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)


def _error(status: int, message: str, category: str | None = None) -> dict[str, Any]:
    category = category or {
        401: "INVALID_AUTHENTICATION",
        404: "OBJECT_NOT_FOUND",
        400: "VALIDATION_ERROR",
        429: "RATE_LIMITS",
    }.get(status, "ERROR")
    body = {"status": "error", "message": message, "correlationId": str(uuid.uuid4()), "category": category}
    if status == 429:
        body.update(errorType="RATE_LIMIT", policyName="SECONDLY")
    return body


class HubSpot:
    """The CRM's data (live: tests mutate it) and its HTTP routes."""

    def __init__(self, seed: int, scale: int, token: str) -> None:
        self.token = token
        people, companies = generate(seed, scale)
        self._lock = threading.RLock()
        self._objects: dict[str, dict[str, dict[str, Any]]] = {
            "companies": {str(c.index + 1): self._company(c) for c in companies},
            "contacts": {str(p.index + 1): self._contact(p, companies) for p in people},
        }
        rng = random.Random(seed + 505)  # its own stream: contacts and companies stay as they were
        self.owners = [self._owner(i, rng) for i in range(6)]
        self._objects["deals"] = {}
        for c in companies:
            for _ in range(rng.choice((0, 1, 1, 2))):
                oid = str(len(self._objects["deals"]) + 1)
                self._objects["deals"][oid] = self._deal(oid, c, rng, self.owners)
        self._ids = {t: sorted(int(i) for i in objs) for t, objs in self._objects.items()}
        self._version = 0  # bumped on every change; keys the search cache
        self._search_cache: dict[tuple[Any, ...], list[str]] = {}
        self._unique: dict[tuple[str, str], dict[str, str]] = {}  # unique property -> value -> id
        self.upserts: list[tuple[str, str]] = []  # (object type, id value) per upserted input
        self.gdpr_deleted: list[str] = []  # contact ids removed by GDPR delete
        self.search_cap = SEARCH_CAP
        # request logs for tests: (object type, `properties` asked or None) per list page built,
        # (object type, ids asked) per batch read
        self.list_reads: list[tuple[str, str | None]] = []
        self.batch_reads: list[tuple[str, list[str]]] = []
        self._pages_served: dict[tuple[str, str], int] = {}  # (kind, type) -> pages built
        self._page_hooks: dict[tuple[str, str], list[PageHook]] = {}

    def after_page(self, kind: str, object_type: str, hook: PageHook) -> None:
        """Call `hook(n, ids)` right after each `kind` page of `object_type` is built (before it
        is sent; n counts those pages from 1, ids are the page's record ids) until it returns
        True. kind is "list" (GET /crm/v3/objects/{type}) or "search" (POST .../search)."""
        if kind not in ("list", "search"):
            raise ValueError(f"after_page: kind must be 'list' or 'search', not {kind!r}")
        with self._lock:
            self._page_hooks.setdefault((kind, object_type), []).append(hook)

    def _page_built(self, kind: str, object_type: str, results: list[dict[str, Any]]) -> None:
        with self._lock:
            n = self._pages_served.get((kind, object_type), 0) + 1
            self._pages_served[(kind, object_type)] = n
            hooks = list(self._page_hooks.get((kind, object_type), []))
            ids = [r["id"] for r in results]
            for hook in hooks:
                if hook(n, ids):
                    self._page_hooks[(kind, object_type)].remove(hook)

    # -- data --------------------------------------------------------------
    @staticmethod
    def _contact(p: Person, companies: list[Company]) -> dict[str, Any]:
        oid = str(p.index + 1)
        created, updated = iso(p.created), iso(p.updated)
        return {
            "id": oid,
            "properties": {
                "email": p.email,
                "firstname": p.first,
                "lastname": p.last,
                "phone": p.phone or None,
                "company": companies[p.company].name,
                "lifecyclestage": p.stage,
                "city": p.city,
                "country": p.country,
                "associatedcompanyid": str(p.company + 1),
                "createdate": created,
                "lastmodifieddate": updated,
                "hs_object_id": oid,
            },
            "createdAt": created,
            "updatedAt": updated,
            "archived": False,
        }

    @staticmethod
    def _company(c: Company) -> dict[str, Any]:
        oid = str(c.index + 1)
        created, updated = iso(c.created), iso(c.updated)
        return {
            "id": oid,
            "properties": {
                "name": c.name,
                "domain": c.domain,
                "industry": c.industry,
                "phone": c.phone,
                "city": c.city,
                "country": c.country,
                "numberofemployees": str(c.employees),
                "annualrevenue": str(c.revenue),
                "createdate": created,
                "hs_lastmodifieddate": updated,
                "hs_object_id": oid,
            },
            "createdAt": created,
            "updatedAt": updated,
            "archived": False,
        }

    @staticmethod
    def _owner(i: int, rng: random.Random) -> dict[str, Any]:
        first, last = rng.choice(FIRST), rng.choice(LAST)
        stamp = iso(EPOCH - timedelta(days=500 - i))
        return {
            "id": str(41000 + i),
            "email": f"{first}.{last}@crossdock-sales.example.com".lower(),
            "firstName": first,
            "lastName": last,
            "userId": 9000 + i,
            "createdAt": stamp,
            "updatedAt": stamp,
            "archived": False,
            "teams": [],
        }

    @staticmethod
    def _deal(oid: str, c: Company, rng: random.Random, owners: list[dict[str, Any]]) -> dict[str, Any]:
        created = c.created + timedelta(days=rng.randint(0, 200))
        updated = min(created + timedelta(days=rng.randint(0, 90)), EPOCH)
        created_at, updated_at = iso(min(created, updated)), iso(updated)
        return {
            "id": oid,
            "properties": {
                "dealname": f"{c.name} - {rng.choice(('renewal', 'new business', 'upsell'))}",
                "amount": str(rng.randint(5, 500) * 100),
                "dealstage": rng.choice(DEAL_STAGES),
                "pipeline": "default",
                "closedate": iso(EPOCH + timedelta(days=rng.randint(-200, 90))),
                "hubspot_owner_id": rng.choice(owners)["id"],
                "associatedcompanyid": str(c.index + 1),
                "createdate": created_at,
                "hs_lastmodifieddate": updated_at,
                "hs_object_id": oid,
            },
            "createdAt": created_at,
            "updatedAt": updated_at,
            "archived": False,
        }

    def objects(self, object_type: str) -> dict[str, dict[str, Any]]:
        """id -> object as the API returns it (the live store: mutate through update/create)."""
        return self._objects[object_type]

    def update(
        self, object_type: str, oid: str, properties: dict[str, Any], updated_at: datetime | None = None
    ) -> dict[str, Any]:
        with self._lock:
            obj = self._objects[object_type][oid]
            stamp = iso(updated_at or datetime.now(UTC))
            obj["properties"] = {**obj["properties"], **properties, MODIFIED[object_type]: stamp}
            obj["updatedAt"] = stamp
            self._version += 1
            self._reindex(object_type, oid)
            return obj

    def create(
        self, object_type: str, properties: dict[str, Any], updated_at: datetime | None = None
    ) -> dict[str, Any]:
        with self._lock:
            oid = str(self._ids[object_type][-1] + 1 if self._ids[object_type] else 1)
            stamp = iso(updated_at or datetime.now(UTC))
            obj = {
                "id": oid,
                "properties": {
                    **properties,
                    "createdate": stamp,
                    MODIFIED[object_type]: stamp,
                    "hs_object_id": oid,
                },
                "createdAt": stamp,
                "updatedAt": stamp,
                "archived": False,
            }
            self._objects[object_type][oid] = obj
            self._ids[object_type].append(int(oid))
            self._version += 1
            self._reindex(object_type, oid)
            return obj

    def _reindex(self, object_type: str, oid: str) -> None:
        props = self._objects[object_type][oid]["properties"]
        for (kind, prop), index in self._unique.items():
            if kind == object_type and props.get(prop):
                index[str(props[prop]).strip().lower()] = oid

    # -- HTTP --------------------------------------------------------------
    def register(self, router: Router) -> None:
        router.product(
            "/crm/", lambda status, msg: _error(status, msg), self._rate_headers, (self._save, self._restore)
        )
        router.add("GET", "/crm/v3/objects/{type}", self._guard(self._list))
        router.add("GET", "/crm/v3/objects/{type}/{id}", self._guard(self._get))
        router.add("POST", "/crm/v3/objects/{type}/search", self._guard(self._search))
        router.add("POST", "/crm/v3/objects/{type}/batch/upsert", self._guard(self._upsert))
        router.add("POST", "/crm/v3/objects/{type}/batch/read", self._guard(self._batch_read))
        router.add("POST", "/crm/v3/objects/contacts/gdpr-delete", self._bearer(self._gdpr_delete))
        router.add("GET", "/crm/v3/owners", self._bearer(self._list_owners))
        router.add("GET", "/_sandbox/hubspot/{type}", self._dump)
        router.add("PATCH", "/_sandbox/hubspot/{type}/{id}", self._patch)

    def _save(self) -> Any:
        with self._lock:
            return copy.deepcopy((self._objects, self._ids))

    def _restore(self, saved: Any) -> None:
        objects, ids = saved
        with self._lock:  # in place: a test may hold `objects(type)` from before
            for kind, objs in objects.items():
                self._objects[kind].clear()
                self._objects[kind].update(objs)
                self._ids[kind][:] = ids[kind]
            self._unique.clear()  # rebuilt from the objects on the next upsert
            self._version += 1

    @staticmethod
    def _rate_headers() -> dict[str, str]:
        return {
            "X-HubSpot-RateLimit-Max": "190",
            "X-HubSpot-RateLimit-Remaining": "189",
            "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
            "X-HubSpot-RateLimit-Daily": "1000000",
            "X-HubSpot-RateLimit-Daily-Remaining": "999999",
        }

    def _guard(self, handler: Callable[[Request, str], Response]) -> Callable[[Request], Response]:
        """Bearer auth, then the object type from the path."""

        def typed(req: Request) -> Response:
            object_type = req.params["type"]
            if object_type not in OBJECT_TYPES:
                return json_response(_error(404, f"Unable to infer object type from: {object_type}"), 404)
            return handler(req, object_type)

        return self._bearer(typed)

    def _bearer(self, handler: Callable[[Request], Response]) -> Callable[[Request], Response]:
        """Bearer auth only (the owners API has no object type)."""

        def guarded(req: Request) -> Response:
            if req.headers.get("authorization") != f"Bearer {self.token}":
                return json_response(
                    _error(
                        401,
                        "Authentication credentials not found. This API "
                        "supports OAuth 2.0 authentication and you can find "
                        "more details at https://developers.hubspot.com/docs"
                        "/methods/auth/oauth-overview",
                    ),
                    401,
                )
            return handler(req)

        return guarded

    def _list_owners(self, req: Request) -> Response:
        limit = int(req.arg("limit", "100") or 100)
        if not 1 <= limit <= 500:
            return json_response(_error(400, f"limit must be between 1 and 500, got {limit}"), 400)
        archived = (req.arg("archived", "false") or "false").lower() == "true"
        owners = [o for o in self.owners if o["archived"] == archived]
        start = int(req.arg("after") or 0)
        body: dict[str, Any] = {"results": owners[start : start + limit]}
        if start + limit < len(owners):
            body["paging"] = {
                "next": {
                    "after": str(start + limit),
                    "link": f"https://api.hubapi.com/crm/v3/owners?after={start + limit}",
                }
            }
        return json_response(body)

    @staticmethod
    def _shape(obj: dict[str, Any], props: list[str] | None, object_type: str) -> dict[str, Any]:
        if props is None:
            return obj
        # Like HubSpot, a few properties come back whether asked for or not.
        keep = set(props) | {"createdate", "hs_object_id", MODIFIED[object_type]}
        return {**obj, "properties": {k: v for k, v in obj["properties"].items() if k in keep}}

    def _list(self, req: Request, object_type: str) -> Response:
        limit = int(req.arg("limit", "10") or 10)
        if not 1 <= limit <= 100:
            return json_response(_error(400, f"limit must be between 1 and 100, got {limit}"), 400)
        props = req.arg("properties")
        wanted = props.split(",") if props else None
        archived = (req.arg("archived", "false") or "false").lower() == "true"
        ids, objs = self._ids[object_type], self._objects[object_type]
        start = bisect.bisect_left(ids, int(req.arg("after") or 0))
        results: list[dict[str, Any]] = []
        i = start
        while i < len(ids) and len(results) < limit:
            obj = objs[str(ids[i])]
            if obj["archived"] == archived:
                results.append(self._shape(obj, wanted, object_type))
            i += 1
        body: dict[str, Any] = {"results": results}
        if i < len(ids):
            after = str(ids[i])
            body["paging"] = {
                "next": {
                    "after": after,
                    "link": f"https://api.hubapi.com/crm/v3/"
                    f"objects/{object_type}?limit={limit}&after={after}",
                }
            }
        response = json_response(body)
        with self._lock:
            self.list_reads.append((object_type, props))
        self._page_built("list", object_type, results)
        return response

    def _get(self, req: Request, object_type: str) -> Response:
        obj = self._objects[object_type].get(req.params["id"])
        if obj is None:
            return json_response(_error(404, "Object not found. objectId are usually numeric."), 404)
        return json_response(obj)

    def _batch_read(self, req: Request, object_type: str) -> Response:
        """Records by id (or by a unique property); an id not found is left out of `results`
        and named under `errors` (HubSpot answers 207 then)."""
        query = req.json() or {}
        inputs, prop = query.get("inputs"), query.get("idProperty") or "hs_object_id"
        if not isinstance(inputs, list) or not inputs:
            return json_response(_error(400, "Invalid input JSON: `inputs` must be a non-empty array"), 400)
        if len(inputs) > _BATCH_LIMIT:
            return json_response(
                _error(400, f"Batch input size must be <= {_BATCH_LIMIT}, got {len(inputs)}"), 400
            )
        if prop not in _UNIQUE[object_type]:
            return json_response(_error(400, f"{prop} is not a unique property of {object_type}"), 400)
        asked = [str((item or {}).get("id") or "") for item in inputs]
        wanted = query.get("properties") or None
        with self._lock:
            self.batch_reads.append((object_type, asked))
            objs = self._objects[object_type]
            found = [
                objs.get(v) if prop == "hs_object_id" else objs.get(self._find(object_type, prop, v) or "")
                for v in asked
            ]
        results = [self._shape(o, wanted, object_type) for o in found if o is not None and not o["archived"]]
        missing = [v for v, o in zip(asked, found, strict=True) if o is None or o["archived"]]
        now = iso(datetime.now(UTC))
        body: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": now,
            "completedAt": now,
        }
        if missing:
            body["errors"] = [
                {
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "message": "Could not get some objects, they may be deleted or not exist.",
                    "context": {"ids": missing},
                }
            ]
            body["numErrors"] = 1
        return json_response(body, 207 if missing else 200)

    def _search(self, req: Request, object_type: str) -> Response:
        query = req.json() or {}
        limit = int(query.get("limit", 10))
        after = int(query.get("after") or 0)
        if not 1 <= limit <= 200:
            return json_response(_error(400, f"limit must be between 1 and 200, got {limit}"), 400)
        if after + limit > self.search_cap:
            return json_response(
                _error(
                    400,
                    "There was a problem with the request: paging past "
                    f"{self.search_cap} results is not supported",
                ),
                400,
            )
        try:
            matched = self._matching(object_type, query)
        except (KeyError, ValueError, TypeError) as exc:
            return json_response(_error(400, f"Invalid search request: {exc}"), 400)
        page = [
            self._shape(self._objects[object_type][oid], query.get("properties"), object_type)
            for oid in matched[after : after + limit]
        ]
        body: dict[str, Any] = {"total": len(matched), "results": page}
        if after + limit < len(matched):
            body["paging"] = {"next": {"after": str(after + limit)}}
        response = json_response(body)
        self._page_built("search", object_type, page)
        return response

    def _matching(self, object_type: str, query: dict[str, Any]) -> list[str]:
        groups = query.get("filterGroups") or []
        sorts = query.get("sorts") or []
        key = (object_type, self._version, repr(groups), repr(sorts))
        cached = self._search_cache.get(key)
        if cached is not None:
            return cached
        tests = [[_filter_test(f) for f in g.get("filters", [])] for g in groups]
        objs = self._objects[object_type]
        matched = [
            oid
            for oid, obj in objs.items()
            if not obj["archived"] and (not tests or any(all(t(obj) for t in g) for g in tests))
        ]
        for sort in reversed(sorts or [{"propertyName": "hs_object_id"}]):
            prop, desc = sort["propertyName"], sort.get("direction") == "DESCENDING"
            matched.sort(key=lambda oid: (_sort_value(objs[oid], prop), int(oid)), reverse=desc)
        if len(self._search_cache) > 64:
            self._search_cache.clear()
        self._search_cache[key] = matched
        return matched

    def _upsert(self, req: Request, object_type: str) -> Response:
        inputs = (req.json() or {}).get("inputs")
        if not isinstance(inputs, list) or not inputs:
            return json_response(_error(400, "Invalid input JSON: `inputs` must be a non-empty array"), 400)
        if len(inputs) > _BATCH_LIMIT:
            return json_response(
                _error(400, f"Batch input size must be <= {_BATCH_LIMIT}, got {len(inputs)}"), 400
            )
        refusal = self._invalid_batch(object_type, inputs)
        if refusal:
            return json_response(_error(400, refusal), 400)
        results = []
        with self._lock:
            for item in inputs:
                prop, value = item["idProperty"], str(item["id"])
                oid = self._find(object_type, prop, value)
                props = {**item.get("properties", {}), prop: value}
                obj = (
                    self.update(object_type, oid, props)
                    if oid is not None
                    else self.create(object_type, props)
                )
                shaped = {**obj, "new": oid is None}
                if "objectWriteTraceId" in item:
                    shaped["objectWriteTraceId"] = item["objectWriteTraceId"]
                results.append(shaped)
                self.upserts.append((object_type, value))
        now = iso(datetime.now(UTC))
        return json_response({"status": "COMPLETE", "results": results, "startedAt": now, "completedAt": now})

    def _invalid_batch(self, object_type: str, inputs: list[Any]) -> str | None:
        """HubSpot's reason for refusing the whole batch, or None."""
        known = _WRITABLE[object_type]
        problems, seen, repeated = [], set(), []
        for item in inputs:
            prop, value = item.get("idProperty"), str(item.get("id") or "")
            if prop not in _UNIQUE[object_type]:
                return (
                    f"{prop} is not a unique property of {object_type}; use one of "
                    f"{sorted(_UNIQUE[object_type])}"
                )
            if value.lower() in seen:
                repeated.append(value)
            seen.add(value.lower())
            for name, v in {**item.get("properties", {}), prop: value}.items():
                if name not in known:
                    problems.append(
                        {
                            "isValid": False,
                            "message": f'Property "{name}" does not exist',
                            "error": "PROPERTY_DOESNT_EXIST",
                            "name": name,
                        }
                    )
                elif name == "email" and not _EMAIL.fullmatch(str(v)):
                    problems.append(
                        {
                            "isValid": False,
                            "message": f"Email address {v} is invalid",
                            "error": "INVALID_EMAIL",
                            "name": name,
                        }
                    )
                elif name == "lifecyclestage" and v not in _STAGES:
                    problems.append(
                        {
                            "isValid": False,
                            "message": f"{v} was not one of the allowed options",
                            "error": "INVALID_OPTION",
                            "name": name,
                        }
                    )
        if repeated:
            return f"Duplicate IDs found in batch input: {repeated}"
        if problems:
            return f"Property values were not valid: {orjson.dumps(problems).decode()}"
        return None

    def _find(self, object_type: str, prop: str, value: str) -> str | None:
        index = self._unique.get((object_type, prop))
        if index is None:
            # HubSpot compares unique values trimmed and case-blind (emails above all).
            index = {
                str(o["properties"].get(prop, "")).strip().lower(): oid
                for oid, o in self._objects[object_type].items()
                if o["properties"].get(prop)
            }
            self._unique[(object_type, prop)] = index
        return index.get(value.strip().lower())

    def _dump(self, req: Request) -> Response:
        return json_response(list(self._objects[req.params["type"]].values()))

    def _gdpr_delete(self, req: Request) -> Response:
        """Permanently delete one contact, by id or by a unique property (email): 204, or
        404 when there is no such contact."""
        body = req.json() or {}
        value, prop = str(body.get("objectId") or ""), body.get("idProperty")
        with self._lock:
            oid = self._find("contacts", prop, value) if prop else value
            if not value or oid is None or oid not in self._objects["contacts"]:
                return json_response(_error(404, "Object not found. objectId are usually numeric."), 404)
            del self._objects["contacts"][oid]
            self._ids["contacts"].remove(int(oid))
            self._unique = {k: v for k, v in self._unique.items() if k[0] != "contacts"}  # rebuilt on use
            self._version += 1
            self.gdpr_deleted.append(oid)
        return Response(204, b"")

    def _patch(self, req: Request) -> Response:
        return json_response(self.update(req.params["type"], req.params["id"], req.json() or {}))


_DATE_PROPS = {"lastmodifieddate", "hs_lastmodifieddate", "createdate"}


def _sort_value(obj: dict[str, Any], prop: str) -> Any:
    value = obj["properties"].get(prop)
    if prop in _DATE_PROPS and value:
        return _ms(value)
    if prop == "hs_object_id":
        return int(obj["id"])
    return value or ""


def _filter_value(prop: str, value: Any) -> Any:
    if prop in _DATE_PROPS:
        text = str(value)
        return int(text) if text.lstrip("-").isdigit() else _ms(text)
    if prop == "hs_object_id":
        return int(value)
    return value


def _filter_test(f: dict[str, Any]) -> Callable[[dict[str, Any]], bool]:
    prop, op = f["propertyName"], f["operator"]
    low = _filter_value(prop, f.get("value")) if "value" in f else None
    high = _filter_value(prop, f.get("highValue")) if "highValue" in f else None
    ops: dict[str, Callable[[Any], bool]] = {
        "EQ": lambda v: v == low,
        "NEQ": lambda v: v != low,
        "GT": lambda v: v > low,
        "GTE": lambda v: v >= low,
        "LT": lambda v: v < low,
        "LTE": lambda v: v <= low,
        "BETWEEN": lambda v: low <= v <= high,
        "HAS_PROPERTY": lambda v: v is not None,
    }
    if op not in ops:
        raise ValueError(f"unsupported operator {op}")
    check = ops[op]

    def test(obj: dict[str, Any]) -> bool:
        raw = obj["properties"].get(prop) if prop != "hs_object_id" else obj["id"]
        if raw is None:
            return op == "NEQ"
        try:
            return check(_filter_value(prop, raw))
        except (ValueError, TypeError):
            return False

    return test
