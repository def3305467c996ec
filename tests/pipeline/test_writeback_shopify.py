"""Write-back to Shopify inventory through the sandbox: SKUs resolved, levels set, 422s kept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hub.destinations import TableSpec
from hub.sandbox import Sandbox
from hub.sandbox.shopify import API, LOCATIONS
from hub.writeback.state import list_results
from tests.pipeline.writeback import STAMP, WritebackHub

pytestmark = pytest.mark.usefixtures("prefect_server")

MAIN, STORE = LOCATIONS[0][1], LOCATIONS[1][1]
STOCK = TableSpec(
    "stock",
    {
        "id": "string",
        "sku": "string",
        "location_id": "string",
        "available": "integer",
        "updated_at": "datetime",
    },
    key=("id",),
)


class ShopifyOut(WritebackHub):
    def stock(self, rows: list[tuple[str, int, int]]) -> None:
        self.table(
            STOCK,
            [
                {
                    "id": f"{sku}@{loc}",
                    "sku": sku,
                    "location_id": str(loc),
                    "available": n,
                    "updated_at": STAMP,
                }
                for sku, loc, n in rows
            ],
        )


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.delenv("CROSSDOCK_STORE_URL", raising=False)
    with Sandbox(seed=7, scale=50, port=0) as sb:
        hub = ShopifyOut(
            tmp_path, sb, "shopify", {"access_token": "sandbox-token", "location_id": MAIN}, stream="stock"
        )
        yield hub


def test_levels_are_set_by_sku_and_only_changes_are_sent(shop: ShopifyOut) -> None:
    skus = [v["sku"] for p in shop.sandbox.shopify.products[:10] for v in p["variants"]]
    tracked = [s for s in skus if s != "SKU-0003-0"]
    rows = [(sku, MAIN, 100 + i) for i, sku in enumerate(skus)] + [(skus[0], STORE, 7)]
    rows.append(("SKU-NOPE", MAIN, 1))
    shop.stock(rows)

    result = shop.sync()
    counts = result["streams"]["stock"]["writeback"]
    assert result["status"] == "succeeded", result
    assert (counts["accepted"], counts["rejected"]) == (len(tracked) + 1, 2)
    levels = shop.sandbox.shopify.levels
    for i, sku in enumerate(skus):
        if sku in tracked:
            assert levels[(shop.sandbox.shopify.item_for(sku), MAIN)] == 100 + i
    assert levels[(shop.sandbox.shopify.item_for(skus[0]), STORE)] == 7
    reasons = {r.record_ref: r.reason for r in list_results(shop.ctx.engine, result["run_id"], "rejected")}
    assert reasons == {
        f"warehouse:SKU-0003-0@{MAIN}": "HTTP 422: Inventory item does not have inventory tracking enabled",
        f"warehouse:SKU-NOPE@{MAIN}": "no Shopify variant has SKU SKU-NOPE",
    }
    assert shop.calls(f"{API}/products.json") == 1  # the catalogue is read once per run

    sets = len(shop.sandbox.shopify.sets)
    rows[1] = (rows[1][0], MAIN, 0)
    shop.stock(rows)
    again = shop.sync()["streams"]["stock"]["writeback"]
    assert (again["update"], again["accepted"]) == (1, 1)
    assert shop.sandbox.shopify.sets[sets:] == [(shop.sandbox.shopify.item_for(skus[1]), MAIN, 0)]


def test_a_rate_limited_set_waits_and_lands_once(shop: ShopifyOut) -> None:
    shop.stock([("SKU-0001-0", MAIN, 5), ("SKU-0002-0", MAIN, 6)])
    with shop.sandbox.faults.planted(
        path_prefix=f"{API}/inventory_levels/set.json", kind="429", times=3, retry_after=0.1
    ):
        result = shop.sync()
    assert result["streams"]["stock"]["writeback"]["accepted"] == 2
    assert [s[2] for s in shop.sandbox.shopify.sets] == [5, 6]


def test_a_lost_response_is_retried_and_the_level_is_what_the_row_says(shop: ShopifyOut) -> None:
    """`set` is absolute: applying it twice leaves the same level."""
    shop.stock([("SKU-0001-0", MAIN, 5)])
    with shop.sandbox.faults.planted(path_prefix=f"{API}/inventory_levels/set.json", kind="lost", times=1):
        result = shop.sync()
    assert result["streams"]["stock"]["writeback"]["accepted"] == 1
    item = shop.sandbox.shopify.item_for("SKU-0001-0")
    assert [s for s in shop.sandbox.shopify.sets if s[0] == item] == [(item, MAIN, 5)] * 2
    assert shop.sandbox.shopify.levels[(item, MAIN)] == 5
