"""Shopify end to end: sandbox -> connector -> mappings -> SQL via the Prefect flow, with
faults, then stitched with the CRM. On SQLite: the destinations are tested on all three
backends elsewhere; here the connector is under test."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import pytest

from flows.stitch import stitch_profiles
from flows.sync import sync_connection
from hub.sandbox.shopify import API
from tests.pipeline.truth import pairwise_scores

pytestmark = [
    pytest.mark.usefixtures("prefect_server"),
    pytest.mark.parametrize("hub", ["sqlite"], indirect=True),
]


def sync(hub, name: str = "shop") -> dict:  # type: ignore[no-untyped-def]
    return sync_connection(name, workspace_dir=str(hub.ctx.workspace_dir)).to_dict()


def instant(value: str) -> datetime:
    return datetime.fromisoformat(value)


def assert_equal_to_sandbox(hub) -> None:  # type: ignore[no-untyped-def]
    shop = hub.sandbox.shopify
    for table, objects in (
        ("shop_customers", shop.customers.values()),
        ("shop_orders", shop.orders.values()),
        ("shop_products", shop.products),
    ):
        rows = hub.rows(table)
        keys = Counter(r["source_id"] for r in rows)
        assert not [k for k, n in keys.items() if n > 1], f"{table}: duplicate keys"
        source = {str(o["id"]): instant(o["updated_at"]) for o in objects}
        assert {r["source_id"]: r["updated_at"] for r in rows} == source, table
    levels = {(r["item_id"], r["location_id"]): r["available"] for r in hub.rows("shop_inventory_levels")}
    assert levels == {(str(i), str(loc)): n for (i, loc), n in shop.levels.items()}


def test_faults_clear_and_nothing_is_lost_or_doubled_then_increments(hub) -> None:  # type: ignore[no-untyped-def]
    faults = hub.sandbox.faults
    with (
        faults.planted(path_prefix=f"{API}/customers.json", kind="429", times=3, retry_after=0.1),
        faults.planted(path_prefix=f"{API}/orders.json", kind="500", times=2),
        faults.planted(path_prefix=f"{API}/orders.json", kind="truncated", times=1),
        faults.planted(path_prefix=f"{API}/inventory_levels.json", kind="malformed", times=1),
    ):
        first = sync(hub)
    assert first["status"] == "succeeded", first
    assert all(s["dead_lettered"] == 0 for s in first["streams"].values()), first
    assert_equal_to_sandbox(hub)

    shop = hub.sandbox.shopify
    cid = next(iter(shop.customers))
    shop.update_customer(cid, {"first_name": "Renamed"})
    second = sync(hub)
    assert second["status"] == "succeeded", second
    assert second["streams"]["customers"]["read"] < len(shop.customers) // 2
    assert_equal_to_sandbox(hub)
    row = next(r for r in hub.rows("shop_customers") if r["source_id"] == str(cid))
    assert row["first_name"] == "Renamed"


def test_retries_running_out_fail_the_stream_with_the_reason(hub) -> None:  # type: ignore[no-untyped-def]
    with hub.sandbox.faults.planted(path_prefix=f"{API}/orders.json", kind="503", times=None):
        run = sync(hub)
    assert run["status"] == "partial", run
    orders = run["streams"]["orders"]
    assert orders["status"] == "failed" and "Shopify server error" in orders["error"], orders
    assert run["streams"]["customers"]["status"] == "succeeded"


def test_shop_customers_join_the_crm_people_and_orders_land_on_timelines(hub) -> None:  # type: ignore[no-untyped-def]
    assert sync(hub, "crm")["status"] == "succeeded"
    assert sync(hub)["status"] == "succeeded"
    summary = stitch_profiles(workspace_dir=str(hub.ctx.workspace_dir)).to_dict()
    assert summary["events_unattached"] == 0, summary
    precision, recall = pairwise_scores(hub)  # against the sandbox's truth
    assert precision >= 0.99 and recall >= 0.8, (precision, recall)
    orders = [e for e in hub.rows("profile_timeline") if e["event"].startswith("order")]
    assert len(orders) == len(hub.sandbox.shopify.orders)
