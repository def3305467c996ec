"""Available stock per SKU, summed over locations, from the latest inventory sync.

Shopify's inventory levels name an inventory item, not a SKU: the product rows' variants
(`sku`, `inventory_item_id`) say which SKU each item is. Rows that carry `sku` themselves (a
warehouse stock table mapped by warehouse/stock) need no catalog.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["skus_of_items", "stock_by_sku"]


def skus_of_items(products: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """inventory item id -> SKU, from canonical product rows' `variants`."""
    found: dict[str, str] = {}
    for product in products:
        variants = product.get("variants") or []
        if isinstance(variants, str):  # a JSON column read back as text
            variants = json.loads(variants)
        for v in variants:
            if isinstance(v, dict) and v.get("sku") and v.get("inventory_item_id") is not None:
                found[str(v["inventory_item_id"])] = str(v["sku"])
    return found


def stock_by_sku(levels: Iterable[Mapping[str, Any]], item_skus: Mapping[str, str]) -> dict[str, int]:
    """SKU -> units available over every location (a null level counts 0; a negative one,
    oversold, counts as it is)."""
    total: Counter[str] = Counter()
    for row in levels:
        sku = row.get("sku") or item_skus.get(str(row.get("item_id")))
        if sku:
            total[str(sku)] += int(row.get("available") or 0)
    return dict(total)
