"""Shopify inventory write-back: the available quantity of an item at a location.

POST /admin/api/{version}/inventory_levels/set.json sets one item at one
location to an absolute number, so a retried call cannot count twice. Rows
name items by SKU; the SKUs are resolved to Shopify inventory item ids once
per run from the product catalogue (GET products.json, 250 a page, following
the Link header). The location is the row's `location_id`, or the config's.
Shopify's REST API has no bulk set: one call per changed row, within its
leaky-bucket limit (429 with Retry-After is waited out). Nothing is deleted.

Config (ShopifyConfig): base_url or shop (the myshopify subdomain), access_token,
api_version (2024-01), location_id (default location), and WritebackConfig's retry
settings.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

from pydantic import Field, SecretStr, model_validator

from hub.errors import FatalError
from hub.writeback import (
    Change,
    ErasureOutcome,
    ErasureSubject,
    Held,
    Outcome,
    WritebackBase,
    WritebackConfig,
    missing_key,
    tally,
)

_NEXT = re.compile(r'<[^>]*[?&]page_info=([^&>]+)[^>]*>;\s*rel="next"')


class ShopifyConfig(WritebackConfig):
    access_token: SecretStr = Field(description="an Admin API token")
    shop: str | None = Field(default=None, description="the myshopify.com subdomain")
    api_version: str = "2024-01"
    location_id: int | None = Field(default=None, description="for rows that name none")

    @model_validator(mode="after")
    def _where(self) -> ShopifyConfig:
        if not (self.base_url or self.shop):
            raise missing_key("shopify write-back needs `shop` (the myshopify.com subdomain) or `base_url`")
        return self


class Writeback(WritebackBase):
    name = "shopify"
    Config = ShopifyConfig
    config: ShopifyConfig
    entity = "inventory_item"
    batch_limit = 50  # rows per upsert call from the hub; each is its own API request

    def __init__(self, config: ShopifyConfig | dict[str, Any]) -> None:
        super().__init__(config)
        self.api = f"/admin/api/{self.config.api_version}"
        self.location = self.config.location_id
        self._items: dict[str, int] | None = None
        self.client = self.client_for(
            f"https://{self.config.shop}.myshopify.com",
            product="Shopify",
            headers={"X-Shopify-Access-Token": self.config.access_token.get_secret_value()},
        )

    def check(self) -> str:
        resp = self.client.request("GET", f"{self.api}/locations.json")
        if resp.status != 200:
            raise FatalError(f"Shopify answered HTTP {resp.status}: {resp.body}")
        ids = {str(loc.get("id")) for loc in (resp.body or {}).get("locations") or []}
        if self.location and str(self.location) not in ids:
            raise FatalError(
                f"Shopify has no location {self.location} (it has "
                f"{', '.join(sorted(ids)) or 'none'}); check `location_id`"
            )
        return f"the token reads Shopify's {len(ids)} locations"

    def prepare(self, row: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        location = row.get("location_id") or self.location
        if not row.get("sku"):
            raise ValueError("no `sku`: Shopify items are found by SKU")
        if not location:
            raise ValueError("no `location_id` in the row and none in the destination config")
        if row.get("available") is None:
            raise ValueError("no `available` quantity")
        return f"{row['sku']}@{location}", {
            "sku": str(row["sku"]),
            "location_id": int(location),
            "available": int(row["available"]),
        }

    def upsert(self, changes: Sequence[Change]) -> list[Outcome]:
        items = self._catalogue()
        outcomes = []
        for c in changes:
            item = items.get(c.payload["sku"])
            if item is None:
                outcomes.append(Outcome(False, f"no Shopify variant has SKU {c.payload['sku']}"))
                continue
            resp = self.client.request(
                "POST",
                f"{self.api}/inventory_levels/set.json",
                json={
                    "location_id": c.payload["location_id"],
                    "inventory_item_id": item,
                    "available": c.payload["available"],
                },
            )
            if resp.status == 200:
                outcomes.append(Outcome(True, remote_id=f"{item}@{c.payload['location_id']}"))
            elif resp.status in (404, 422):
                outcomes.append(
                    Outcome(False, f"HTTP {resp.status}: {_errors((resp.body or {}).get('errors'))}")
                )
            else:
                raise FatalError(f"Shopify inventory_levels/set answered HTTP {resp.status}: {resp.body}")
        return outcomes

    def read_back(self) -> Iterator[Held]:
        """The available quantity of every SKU at every location, keyed as `prepare` keys it
        (`sku@location`): GET locations.json, then inventory_levels.json for those locations
        (250 a page, following the Link header). Levels of items without a SKU are left out."""
        resp = self.client.request("GET", f"{self.api}/locations.json")
        if resp.status != 200:
            raise FatalError(f"Shopify locations.json answered HTTP {resp.status}: {resp.body}")
        locations = ",".join(str(loc["id"]) for loc in (resp.body or {}).get("locations") or [])
        skus = {item: sku for sku, item in self._catalogue().items()}
        params: dict[str, Any] = {"limit": 250, "location_ids": locations}
        while locations:
            resp = self.client.request("GET", f"{self.api}/inventory_levels.json", params=params)
            if resp.status != 200:
                raise FatalError(f"Shopify inventory_levels.json answered HTTP {resp.status}: {resp.body}")
            for level in (resp.body or {}).get("inventory_levels") or []:
                item, location = int(level["inventory_item_id"]), int(level["location_id"])
                if item in skus and level.get("available") is not None:
                    payload = {"sku": skus[item], "location_id": location, "available": level["available"]}
                    yield Held(f"{skus[item]}@{location}".lower(), f"{item}@{location}", payload)
            found = _NEXT.search(resp.headers.get("link", ""))
            if not found:
                return
            params = {"limit": 250, "page_info": found.group(1)}

    def _catalogue(self) -> dict[str, int]:
        """SKU -> inventory item id, read once per run."""
        if self._items is None:
            items: dict[str, int] = {}
            params: dict[str, Any] = {"limit": 250, "fields": "id,variants"}
            while True:
                resp = self.client.request("GET", f"{self.api}/products.json", params=params)
                if resp.status != 200:
                    raise FatalError(f"Shopify products.json answered HTTP {resp.status}: {resp.body}")
                for product in (resp.body or {}).get("products", []):
                    for variant in product.get("variants", []):
                        if variant.get("sku"):
                            items[variant["sku"]] = int(variant["inventory_item_id"])
                found = _NEXT.search(resp.headers.get("link", ""))
                if not found:
                    break
                params = {"limit": 250, "page_info": found.group(1)}
            self._items = items
        return self._items

    def erase(self, subject: ErasureSubject) -> ErasureOutcome:
        """Customer delete (DELETE customers/{id}.json) for the ids the hub knows and those a
        search by email finds. A refusal (Shopify answers 422 for a customer it must keep) is
        reported as failed with Shopify's words; the admin's customer privacy page can erase them."""
        ids = set(subject.ids_in("shopify"))
        for email in subject.emails:
            resp = self.client.request(
                "GET", f"{self.api}/customers/search.json", params={"query": f"email:{email}", "fields": "id"}
            )
            if resp.status != 200:
                raise FatalError(f"Shopify customer search answered HTTP {resp.status}")
            ids |= {str(c["id"]) for c in (resp.body or {}).get("customers") or []}
        deleted = missing = 0
        for cid in sorted(ids):
            resp = self.client.request("DELETE", f"{self.api}/customers/{cid}.json")
            if resp.status == 200:
                deleted += 1
            elif resp.status == 404:
                missing += 1
            else:
                raise FatalError(
                    f"Shopify customer delete answered HTTP {resp.status}: "
                    f"{_errors((resp.body or {}).get('errors'))}"
                )
        return tally("Shopify customers", deleted, missing)


def _errors(errors: Any) -> str:
    if isinstance(errors, dict):
        return "; ".join(f"{k} {', '.join(map(str, v))}" for k, v in errors.items())
    if isinstance(errors, list):
        return "; ".join(map(str, errors))
    return str(errors)
