"""Shopify Admin REST API, emulated: customers, orders, products, locations, inventory.

- GET  /admin/api/2024-01/{customers,orders,products}.json   limit <= 250, updated_at_min,
       order (id asc, the default, or updated_at asc), orders also status (open | closed |
       cancelled | any; default open)
- GET  /admin/api/2024-01/locations.json
- GET  /admin/api/2024-01/inventory_levels.json?location_ids=...
- POST /admin/api/2024-01/inventory_levels/set.json   {location_id, inventory_item_id, available}
Lists page in id order (or updated_at order) by `page_info` in the Link header; as in
Shopify, a request with page_info may carry only limit and fields: any other
filter is a 400. Auth is the X-Shopify-Access-Token header; every response
carries the leaky-bucket header X-Shopify-Shop-Api-Call-Limit; errors are
`{"errors": ...}`. A variant whose inventory is not tracked refuses a set with
422, as in Shopify.

The customers are the CRM sandbox's people (same seed) as a shop sees them:
a subset who bought something, emails mostly as typed at checkout, phones in
whatever format, and some buyers the CRM never heard of.
"""

from __future__ import annotations

import base64
import random
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson

from hub.sandbox.people import EPOCH, FIRST, LAST, MAIL_PROVIDERS, generate
from hub.sandbox.server import Request, Response, Router, json_response

__all__ = ["Shopify", "API", "LOCATIONS"]

API = "/admin/api/2024-01"
_LIMIT_MAX = 250
_SHOP_TZ = timezone(timedelta(hours=-5))
LOCATIONS = (("Main warehouse", 65000000001), ("Oslo store", 65000000002))
_PAGING_ONLY = {"limit", "fields", "page_info"}
_ORDERS = ("id asc", "updated_at asc")


def iso(dt: datetime) -> str:
    """Shopify stamps in the shop's time zone, with the offset."""
    return dt.astimezone(_SHOP_TZ).isoformat(timespec="seconds")


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class Shopify:
    def __init__(self, seed: int, token: str, scale: int = 1000, products: int = 60) -> None:
        self.token = token
        self._lock = threading.Lock()
        rng = random.Random(seed + 303)
        self.locations = [
            {
                "id": lid,
                "name": name,
                "active": True,
                "country_code": "US",
                "updated_at": iso(EPOCH - timedelta(days=400)),
            }
            for name, lid in LOCATIONS
        ]
        self.products: list[dict[str, Any]] = []
        self.levels: dict[tuple[int, int], int] = {}  # (inventory item, location) -> available
        for p in range(products):
            variants = []
            for v in range(rng.randint(1, 3)):
                item = 44000000000 + p * 10 + v
                variants.append(
                    {
                        "id": 41000000000 + p * 10 + v,
                        "product_id": 7000000000 + p,
                        "sku": f"SKU-{p:04d}-{v}",
                        "inventory_item_id": item,
                        "inventory_management": None if (p, v) == (3, 0) else "shopify",
                        "title": f"Size {v + 1}",
                        "price": f"{rng.randint(5, 200)}.00",
                    }
                )
                for _, lid in LOCATIONS:
                    self.levels[(item, lid)] = rng.randint(0, 40)
            stamp = EPOCH - timedelta(days=rng.randint(1, 600))
            self.products.append(
                {
                    "id": 7000000000 + p,
                    "title": f"Product {p}",
                    "vendor": "Crossdock Goods",
                    "product_type": "Apparel",
                    "status": "active",
                    "created_at": iso(stamp),
                    "updated_at": iso(stamp),
                    "variants": variants,
                }
            )
        self.level_stamp = iso(EPOCH - timedelta(days=3))
        self.customers: dict[int, dict[str, Any]] = {}
        self.orders: dict[int, dict[str, Any]] = {}
        self.person_of: dict[int, int] = {}  # customer id -> CRM person index (the truth)
        self._order_number = 1001
        people, _ = generate(seed, scale)
        for person in people:
            if rng.random() >= 0.4:
                continue
            email = (person.email or "").strip()
            if not email or email.lower().startswith("info@") or rng.random() < 0.15:
                email = f"{person.first}{person.last}{person.index}@{rng.choice(MAIL_PROVIDERS)}"
            if rng.random() < 0.2:
                email = email.upper()  # typed at checkout with caps lock
            cid = 6100000000 + person.index
            self._add_customer(
                cid,
                rng,
                person.first,
                person.last,
                email,
                person.phone,
                person.city,
                person.created,
                person.updated,
            )
            self.person_of[cid] = person.index
        for n in range(max(1, scale // 20)):  # buyers the CRM never heard of
            first, last = rng.choice(FIRST), rng.choice(LAST)
            created = EPOCH - timedelta(days=rng.randint(1, 300))
            self._add_customer(
                6900000000 + n,
                rng,
                first,
                last,
                f"{first}.{last}.shop{n}@{rng.choice(MAIL_PROVIDERS)}".lower(),
                "",
                "Oslo",
                created,
                created,
            )
        self.sets: list[tuple[int, int, int]] = []  # every accepted set, for tests

    def _add_customer(
        self,
        cid: int,
        rng: random.Random,
        first: str,
        last: str,
        email: str,
        phone: str,
        city: str,
        created: datetime,
        updated: datetime,
    ) -> None:
        address = {
            "first_name": first,
            "last_name": last,
            "city": city,
            "country_code": "US",
            "default": True,
        }
        self.customers[cid] = {
            "id": cid,
            "email": email,
            "first_name": first,
            "last_name": last,
            "phone": phone or None,
            "state": "enabled",
            "verified_email": True,
            "created_at": iso(created),
            "updated_at": iso(updated),
            "orders_count": 0,
            "total_spent": "0.00",
            "currency": "USD",
            "tags": "",
            "email_marketing_consent": {
                "state": rng.choice(("subscribed", "not_subscribed")),
                "opt_in_level": "single_opt_in",
                "consent_updated_at": iso(updated),
            },
            "addresses": [address],
            "default_address": address,
        }
        for _ in range(rng.choice((0, 1, 1, 2))):
            product = rng.choice(self.products)
            variant = rng.choice(product["variants"])
            quantity = rng.randint(1, 3)
            placed = min(updated + timedelta(hours=rng.randint(1, 900)), EPOCH)
            oid = 5500000000 + len(self.orders)
            total = f"{quantity * float(variant['price']):.2f}"
            self.orders[oid] = {
                "id": oid,
                "name": f"#{self._order_number}",
                "order_number": self._order_number,
                "email": email,
                "phone": None,
                "created_at": iso(placed),
                "updated_at": iso(placed),
                "closed_at": None,
                "cancelled_at": None,
                "currency": "USD",
                "total_price": total,
                "subtotal_price": total,
                "financial_status": rng.choice(("paid", "paid", "refunded", "pending")),
                "fulfillment_status": rng.choice(("fulfilled", None)),
                "customer": {"id": cid, "email": email, "first_name": first, "last_name": last},
                "line_items": [
                    {
                        "id": oid * 10,
                        "variant_id": variant["id"],
                        "sku": variant["sku"],
                        "title": product["title"],
                        "quantity": quantity,
                        "price": variant["price"],
                    }
                ],
            }
            self._order_number += 1
            customer = self.customers[cid]
            customer["orders_count"] += 1
            customer["total_spent"] = f"{float(customer['total_spent']) + float(total):.2f}"

    def item_for(self, sku: str) -> int:
        return next(v["inventory_item_id"] for p in self.products for v in p["variants"] if v["sku"] == sku)

    def update_customer(self, cid: int, fields: dict[str, Any], at: datetime | None = None) -> dict[str, Any]:
        with self._lock:
            self.customers[cid].update(fields, updated_at=iso(at or datetime.now(UTC)))
            return self.customers[cid]

    def _save(self) -> Any:
        """The inventory levels, for a `dropped` write."""
        with self._lock:
            return dict(self.levels), self.level_stamp

    def _restore(self, saved: Any) -> None:
        levels, stamp = saved
        with self._lock:  # in place: a test may hold `levels` from before
            self.levels.clear()
            self.levels.update(levels)
            self.level_stamp = stamp

    # -- HTTP --------------------------------------------------------------
    def register(self, router: Router) -> None:
        router.product(
            f"{API}/",
            lambda status, msg: {"errors": msg or "Not Found"},
            lambda: {"X-Shopify-Shop-Api-Call-Limit": "1/40"},
            keep=(self._save, self._restore),
        )
        router.add(
            "GET",
            f"{API}/customers.json",
            self._guard(lambda r: self._list(r, "customers", list(self.customers.values()))),
        )
        router.add("GET", f"{API}/orders.json", self._guard(self._orders))
        router.add(
            "GET", f"{API}/products.json", self._guard(lambda r: self._list(r, "products", self.products))
        )
        router.add(
            "GET",
            f"{API}/locations.json",
            self._guard(lambda req: json_response({"locations": self.locations})),
        )
        router.add("GET", f"{API}/inventory_levels.json", self._guard(self._levels))
        router.add("POST", f"{API}/inventory_levels/set.json", self._guard(self._set))
        router.add("GET", f"{API}/customers/search.json", self._guard(self._search_customers))
        router.add("DELETE", f"{API}/customers/{{customer_id}}.json", self._guard(self._delete_customer))

    def _search_customers(self, req: Request) -> Response:
        """`query=email:ADDRESS` only: the customers with that address (case-blind)."""
        query = req.arg("query") or ""
        if not query.startswith("email:"):
            return json_response({"errors": "the sandbox searches customers by `email:` only"}, 400)
        email = query.removeprefix("email:").strip().lower()
        with self._lock:
            found = [
                {"id": c["id"]} for c in self.customers.values() if str(c["email"] or "").lower() == email
            ]
        return json_response({"customers": found})

    def _delete_customer(self, req: Request) -> Response:
        """The customer goes; their orders stay for the books with the person redacted (the
        sandbox's stand-in for Shopify's customer redaction)."""
        try:
            cid = int(req.params["customer_id"])
        except ValueError:
            return json_response({"errors": "Not Found"}, 404)
        now = iso(datetime.now(UTC))
        with self._lock:
            if self.customers.pop(cid, None) is None:
                return json_response({"errors": "Not Found"}, 404)
            self.person_of.pop(cid, None)
            for order in self.orders.values():
                if (order.get("customer") or {}).get("id") == cid:
                    order.update(customer=None, email=None, phone=None, updated_at=now)
        return json_response({})

    def _guard(self, handler: Callable[[Request], Response]) -> Callable[[Request], Response]:
        def guarded(req: Request) -> Response:
            if req.headers.get("x-shopify-access-token") != self.token:
                return json_response(
                    {
                        "errors": "[API] Invalid API key or access token "
                        "(unrecognized login or wrong password)"
                    },
                    401,
                )
            return handler(req)

        return guarded

    def _orders(self, req: Request) -> Response:
        def select(filters: dict[str, str]) -> list[dict[str, Any]] | Response:
            status = filters.get("status", "open")
            test = {
                "any": lambda o: True,
                "open": lambda o: o["closed_at"] is None,
                "closed": lambda o: o["closed_at"] is not None,
                "cancelled": lambda o: o["cancelled_at"] is not None,
            }.get(status)
            if test is None:
                return json_response({"errors": {"status": ["is not a valid status"]}}, 400)
            return [o for o in self.orders.values() if test(o)]

        return self._list(req, "orders", select, ("status",))

    def _levels(self, req: Request) -> Response:
        def select(filters: dict[str, str]) -> list[dict[str, Any]] | Response:
            try:
                wanted = {int(x) for x in filters.get("location_ids", "").split(",") if x}
            except ValueError:
                return json_response({"errors": "location_ids must be integers"}, 400)
            if not wanted:
                return json_response(
                    {"errors": "Must specify either inventory_item_ids or location_ids"}, 422
                )
            # Shopify's levels have no id; the page cursor orders them by (item, location).
            return [
                {
                    "id": i + 1,
                    "inventory_item_id": item,
                    "location_id": loc,
                    "available": n,
                    "updated_at": self.level_stamp,
                    "admin_graphql_api_id": f"gid://shopify/InventoryLevel/{loc}?inventory_item_id={item}",
                }
                for i, ((item, loc), n) in enumerate(sorted(self.levels.items()))
                if loc in wanted
            ]

        return self._list(req, "inventory_levels", select, ("location_ids",), strip_id=True)

    def _list(
        self,
        req: Request,
        kind: str,
        select: Callable[[dict[str, str]], list[dict[str, Any]] | Response] | Any,
        filter_names: tuple[str, ...] = (),
        strip_id: bool = False,
    ) -> Response:
        """Shopify's cursor paging: page_info carries the filters; nothing else may be given."""
        try:
            limit = int(req.arg("limit") or 50)
        except ValueError:
            return json_response({"errors": {"limit": ["is not a number"]}}, 400)
        if not 1 <= limit <= _LIMIT_MAX:
            return json_response({"errors": {"limit": [f"must be <= {_LIMIT_MAX}"]}}, 400)
        token = req.arg("page_info")
        if token:
            extra = set(req.query) - _PAGING_ONLY
            if extra:
                return json_response(
                    {
                        "errors": {
                            "page_info": [
                                f"{', '.join(sorted(extra))} cannot be passed when page_info is present"
                            ]
                        }
                    },
                    400,
                )
            try:
                after, filters = orjson.loads(base64.urlsafe_b64decode(token))
                if not isinstance(after, list) or not isinstance(filters, dict):
                    raise TypeError("not a page_info of this sandbox")
            except (ValueError, TypeError):
                return json_response({"errors": {"page_info": ["is invalid"]}}, 400)
        else:
            after = None
            filters = {n: req.arg(n) for n in ("updated_at_min", "order", *filter_names) if req.arg(n)}
        # Shopify orders a list by id unless told `order=updated_at asc`; page_info then goes
        # on from the last item's (updated_at, id), so an item changed during the read moves
        # behind the cursor and is read later in the same read.
        order = filters.get("order", "id asc")
        if order not in _ORDERS:
            return json_response({"errors": {"order": [f"must be one of {', '.join(_ORDERS)}"]}}, 400)
        by_time = order == "updated_at asc"

        def key(item: dict[str, Any]) -> tuple[Any, ...]:
            return (_parse(item["updated_at"]).timestamp(), item["id"]) if by_time else (item["id"],)

        since = filters.get("updated_at_min")
        if since:
            try:
                cutoff = _parse(since)
            except ValueError:
                return json_response({"errors": {"updated_at_min": ["is not a date"]}}, 400)
        chosen = select(filters) if callable(select) else select
        if isinstance(chosen, Response):
            return chosen
        with self._lock:
            chosen = sorted((dict(i) for i in chosen), key=key)
        if since:
            chosen = [i for i in chosen if _parse(i["updated_at"]) >= cutoff]
        rest = chosen if after is None else [i for i in chosen if key(i) > tuple(after)]
        page = rest[:limit]
        headers = {}
        if len(rest) > limit:
            cursor = base64.urlsafe_b64encode(orjson.dumps([key(page[-1]), filters])).decode()
            headers["Link"] = (
                f"<https://sandbox.myshopify.com{API}/{kind}.json?limit={limit}"
                f'&page_info={cursor}>; rel="next"'
            )
        if strip_id:
            page = [{k: v for k, v in i.items() if k != "id"} for i in page]
        return json_response({kind: page}, headers=headers)

    def _set(self, req: Request) -> Response:
        body = req.json() or {}
        try:
            item, location = int(body["inventory_item_id"]), int(body["location_id"])
            available = body["available"]
        except (KeyError, TypeError, ValueError):
            return json_response(
                {
                    "errors": "Required parameter missing or invalid: "
                    "inventory_item_id, location_id, available"
                },
                400,
            )
        if not isinstance(available, int) or available < -1_000_000_000:
            return json_response({"errors": {"available": ["must be an integer"]}}, 422)
        variant = next(
            (v for p in self.products for v in p["variants"] if v["inventory_item_id"] == item), None
        )
        if variant is None or location not in {loc["id"] for loc in self.locations}:
            return json_response({"errors": "Not Found"}, 404)
        if variant["inventory_management"] != "shopify":
            return json_response({"errors": ["Inventory item does not have inventory tracking enabled"]}, 422)
        with self._lock:
            self.levels[(item, location)] = available
            self.sets.append((item, location, available))
            self.level_stamp = iso(datetime.now(UTC))
        return json_response(
            {
                "inventory_level": {
                    "inventory_item_id": item,
                    "location_id": location,
                    "available": available,
                    "updated_at": self.level_stamp,
                    "admin_graphql_api_id": f"gid://shopify/InventoryLevel/{location}?inventory_item_id={item}",
                }
            }
        )
