"""Shopify Admin REST API, emulated: products with variants, locations, inventory levels.

- GET  /admin/api/2024-01/products.json          limit <= 250; paging by `page_info` in the
                                                 Link header (rel="next"), as Shopify does
- GET  /admin/api/2024-01/locations.json
- POST /admin/api/2024-01/inventory_levels/set.json   {location_id, inventory_item_id, available}
Auth is the X-Shopify-Access-Token header; every response carries the
leaky-bucket header X-Shopify-Shop-Api-Call-Limit; errors are `{"errors": ...}`.
A variant whose inventory is not tracked refuses a set with 422, as in Shopify.
"""

from __future__ import annotations

import base64
import random
import threading
from typing import Any

from hub.sandbox.server import Request, Response, Router, json_response

__all__ = ["Shopify", "API"]

API = "/admin/api/2024-01"
_LIMIT_MAX = 250
LOCATIONS = (("Main warehouse", 65000000001), ("Oslo store", 65000000002))


class Shopify:
    def __init__(self, seed: int, token: str, products: int = 60) -> None:
        self.token = token
        self._lock = threading.Lock()
        rng = random.Random(seed + 303)
        self.locations = [{"id": lid, "name": name, "active": True} for name, lid in LOCATIONS]
        self.products: list[dict[str, Any]] = []
        self.levels: dict[tuple[int, int], int] = {}  # (inventory item, location) -> available
        for p in range(products):
            variants = []
            for v in range(rng.randint(1, 3)):
                item = 44000000000 + p * 10 + v
                variants.append({"id": 41000000000 + p * 10 + v, "product_id": 7000000000 + p,
                                 "sku": f"SKU-{p:04d}-{v}", "inventory_item_id": item,
                                 "inventory_management": None if (p, v) == (3, 0) else "shopify",
                                 "title": f"Size {v + 1}"})
                for _, lid in LOCATIONS:
                    self.levels[(item, lid)] = rng.randint(0, 40)
            self.products.append({"id": 7000000000 + p, "title": f"Product {p}",
                                  "variants": variants})
        self.sets: list[tuple[int, int, int]] = []  # every accepted set, for tests

    def item_for(self, sku: str) -> int:
        return next(v["inventory_item_id"] for p in self.products for v in p["variants"]
                    if v["sku"] == sku)

    def register(self, router: Router) -> None:
        router.product(f"{API}/", lambda status, msg: {"errors": msg or "Not Found"},
                       lambda: {"X-Shopify-Shop-Api-Call-Limit": "1/40"})
        router.add("GET", f"{API}/products.json", self._guard(self._products))
        router.add("GET", f"{API}/locations.json",
                   self._guard(lambda req: json_response({"locations": self.locations})))
        router.add("POST", f"{API}/inventory_levels/set.json", self._guard(self._set))

    def _guard(self, handler: Any) -> Any:
        def guarded(req: Request) -> Response:
            if req.headers.get("x-shopify-access-token") != self.token:
                return json_response({"errors": "[API] Invalid API key or access token "
                                                "(unrecognized login or wrong password)"}, 401)
            return handler(req)

        return guarded

    def _products(self, req: Request) -> Response:
        try:
            limit = int(req.arg("limit") or 50)
            start = int(base64.urlsafe_b64decode(req.arg("page_info") or "MA==").decode())
        except ValueError:
            return json_response({"errors": "Invalid limit or page_info"}, 400)
        if not 1 <= limit <= _LIMIT_MAX:
            return json_response({"errors": {"limit": [f"must be <= {_LIMIT_MAX}"]}}, 400)
        page = self.products[start:start + limit]
        headers = {}
        if start + limit < len(self.products):
            token = base64.urlsafe_b64encode(str(start + limit).encode()).decode()
            headers["Link"] = (f'<https://sandbox.myshopify.com{API}/products.json?limit={limit}'
                               f'&page_info={token}>; rel="next"')
        return json_response({"products": page}, headers=headers)

    def _set(self, req: Request) -> Response:
        body = req.json() or {}
        try:
            item, location = int(body["inventory_item_id"]), int(body["location_id"])
            available = body["available"]
        except (KeyError, TypeError, ValueError):
            return json_response({"errors": "Required parameter missing or invalid: "
                                            "inventory_item_id, location_id, available"}, 400)
        if not isinstance(available, int) or available < -1_000_000_000:
            return json_response({"errors": {"available": ["must be an integer"]}}, 422)
        variant = next((v for p in self.products for v in p["variants"]
                        if v["inventory_item_id"] == item), None)
        if variant is None or location not in {loc["id"] for loc in self.locations}:
            return json_response({"errors": "Not Found"}, 404)
        if variant["inventory_management"] != "shopify":
            return json_response({"errors": ["Inventory item does not have inventory tracking "
                                             "enabled"]}, 422)
        with self._lock:
            self.levels[(item, location)] = available
            self.sets.append((item, location, available))
        return json_response({"inventory_level": {
            "inventory_item_id": item, "location_id": location, "available": available,
            "updated_at": "2026-11-25T12:00:00-05:00",
            "admin_graphql_api_id": f"gid://shopify/InventoryLevel/{location}?inventory_item_id={item}"}})
