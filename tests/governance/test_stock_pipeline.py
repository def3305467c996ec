"""Stock thresholds on the real pipeline: Shopify sandbox inventory -> SQLite, an offers table
-> HubSpot sandbox contacts. An offer for a product whose stock (summed over locations, from
the latest inventory sync) is below its threshold is held back and recorded; it goes once the
stock recovers; a product's threshold beats its collection's, which beats the default; a bad
stock rule stops the workspace from loading at its line."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from hub.cli import app
from hub.context import HubContext
from hub.destinations import TableSpec, open_destination
from hub.errors import ConfigError
from hub.governance.decisions import decisions_for
from hub.pipeline.plan import plan_stream
from hub.pipeline.run import begin_run, end_run
from hub.pipeline.stream import sync_stream
from hub.sandbox import Sandbox
from hub.workspace import load_workspace

STAMP = datetime(2026, 11, 1, tzinfo=UTC)
OFFERS = TableSpec(
    "offers",
    {
        "id": "string",
        "email": "string",
        "sku": "string",
        "product_id": "string",
        "collection": "string",
        "title": "string",
        "updated_at": "datetime",
    },
    key=("id",),
)

WORKSPACE = """\
version: 1
connections:
  shop:
    source:
      connector: shopify
      config: {{base_url: '{url}', access_token: sandbox-token, start_date: '2020-01-01T00:00:00Z',
                page_size: 250, backoff_factor: 0.05}}
    destination: {{type: sql, config: {{url: '{warehouse}'}}}}
    streams:
      products: {{sync_mode: full_refresh, write_mode: overwrite, mapping: shopify/products}}
      inventory_levels: {{sync_mode: full_refresh, write_mode: overwrite, mapping: shopify/inventory_levels}}
  offers_to_crm:
    source: {{warehouse: '{warehouse}'}}
    destination:
      type: hubspot
      config:
        base_url: '{url}'
        access_token: sandbox-token
        entity: offer
        properties: {{sku: crossdock_offer, title: crossdock_offer_title}}
    streams:
      offers: {{sync_mode: full_refresh, mapping: warehouse/offers}}
governance:
  stock:
    inventory: {{connection: shop, stream: inventory_levels}}
    catalog: {{connection: shop, stream: products}}
{rules}"""


class StockHub:
    def __init__(self, root: Path, sb: Sandbox, warehouse: str | None = None) -> None:
        self.root, self.sandbox = root, sb
        self.warehouse = warehouse or f"sqlite:///{root / 'warehouse.db'}"
        self.ctx = HubContext(root)

    def workspace(self, rules: str) -> None:
        text = WORKSPACE.format(
            url=self.sandbox.url, warehouse=self.warehouse, rules=textwrap.indent(rules, "    ")
        )
        (self.root / "crossdock.yaml").write_text(text)

    def sync(self, name: str) -> dict[str, Any]:
        conn = self.ctx.workspace().connection(name)
        run_id = begin_run(self.ctx, name, False, False)
        infos = [sync_stream(plan_stream(self.ctx, conn, s, run_id, False, False)) for s in conn.streams]
        result = end_run(self.ctx, run_id, name, False, infos, 0.0, conn.destination.type).to_dict()
        assert result["status"] == "succeeded", result
        return result

    def offers(self, rows: list[tuple[str, str, str, str | None]]) -> None:
        """(id, email, sku, collection) per offer; the product id comes from the shop."""
        db = open_destination("sql", {"url": self.warehouse})
        try:
            db.prepare(OFFERS, "overwrite")
            db.write(
                OFFERS,
                "overwrite",
                [
                    {
                        "id": oid,
                        "email": email,
                        "sku": sku,
                        "product_id": str(self.product_of(sku)),
                        "collection": coll,
                        "title": f"Offer {sku}",
                        "updated_at": STAMP,
                    }
                    for oid, email, sku, coll in rows
                ],
            )
            db.finish(OFFERS, "overwrite")
        finally:
            db.close()

    def product_of(self, sku: str) -> int:
        return next(p["id"] for p in self.sandbox.shopify.products for v in p["variants"] if v["sku"] == sku)

    def set_stock(self, sku: str, per_location: list[int]) -> None:
        """The shop's stock of `sku` at each of its locations (what the next inventory sync reads)."""
        shop = self.sandbox.shopify
        item = next(v["inventory_item_id"] for p in shop.products for v in p["variants"] if v["sku"] == sku)
        locations = sorted(loc for (i, loc) in shop.levels if i == item)
        assert len(locations) == len(per_location)
        for loc, n in zip(locations, per_location, strict=True):
            shop.levels[(item, loc)] = n

    def crm_offer(self, email: str) -> object:
        """The offer on the person's HubSpot contact, or None (no contact: never sent)."""
        for o in self.sandbox.hubspot.objects("contacts").values():
            if str(o["properties"].get("email") or "").lower() == email:
                return o["properties"].get("crossdock_offer")
        return None


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(seed=7, scale=50, port=0) as sb:
        yield sb


@pytest.fixture
def hub(tmp_path: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[StockHub]:
    monkeypatch.delenv("CROSSDOCK_STORE_URL", raising=False)
    levels = dict(sandbox.shopify.levels)
    yield StockHub(tmp_path, sandbox)
    sandbox.shopify.levels.clear()
    sandbox.shopify.levels.update(levels)


def test_a_sold_out_products_offer_is_held_back_and_goes_once_stock_recovers(hub: StockHub) -> None:
    hub.workspace("default: 1\n")
    hub.set_stock("SKU-0001-0", [0, 0])  # sold out everywhere
    hub.set_stock("SKU-0004-0", [0, 2])  # in stock at one location: the sum counts
    hub.offers(
        [
            ("o1", "sold.out@example.com", "SKU-0001-0", None),
            ("o2", "in.stock@example.com", "SKU-0004-0", None),
        ]
    )
    hub.sync("shop")

    first = hub.sync("offers_to_crm")["streams"]["offers"]
    assert first["governance"]["rules"] == {"drop:stock.default": 1}, first
    assert first["writeback"]["create"] == 1, first
    assert hub.crm_offer("in.stock@example.com") == "SKU-0004-0"
    assert hub.crm_offer("sold.out@example.com") is None  # never reached the CRM

    # `policy test` shows the same decision, and sends nothing
    tested = CliRunner().invoke(
        app, ["--workspace", str(hub.root), "policy", "test", "offers_to_crm", "--json"]
    )
    assert tested.exit_code == 0, tested.output
    outcomes = {r["record_key"]: (r["outcome"], r["rule"]) for r in json.loads(tested.output)}
    assert outcomes == {"warehouse:o1": ("dropped", "stock.default"), "warehouse:o2": ("kept", None)}

    held = decisions_for(hub.ctx.engine, "warehouse:o1")
    assert [(d.rule, d.action) for d in held] == [("stock.default", "drop")]
    assert held[0].reason == "available stock 0 is below the threshold 1"
    assert decisions_for(hub.ctx.engine, "warehouse:o2") == []

    # Shopify restocks, but the hub decides on the latest inventory sync: still held
    hub.set_stock("SKU-0001-0", [0, 3])
    assert hub.sync("offers_to_crm")["streams"]["offers"]["governance"]["dropped"] == 1
    assert hub.crm_offer("sold.out@example.com") is None

    hub.sync("shop")
    after = hub.sync("offers_to_crm")["streams"]["offers"]
    assert after["governance"] is None, after  # nothing held back
    assert after["writeback"]["create"] == 1 and after["writeback"]["unchanged"] == 1, after
    assert hub.crm_offer("sold.out@example.com") == "SKU-0001-0"


def test_a_products_threshold_beats_its_collections_which_beats_the_default(hub: StockHub) -> None:
    for sku in ("SKU-0005-0", "SKU-0006-0", "SKU-0007-0", "SKU-0008-0", "SKU-0009-0"):
        hub.set_stock(sku, [5, 5])  # 10 of each
    pid = hub.product_of("SKU-0009-0")
    hub.workspace(
        textwrap.dedent(
            f"""\
            default: 12
            collections: {{summer: 20, clearance: 0}}
            products: {{SKU-0006-0: 8, '{pid}': 11}}
            """
        )
    )
    hub.offers(
        [
            ("c1", "a@example.com", "SKU-0005-0", "summer"),  # 10 < summer's 20: held
            ("c2", "b@example.com", "SKU-0006-0", "summer"),  # its own 8 beats summer's 20: sent
            ("c3", "c@example.com", "SKU-0007-0", "clearance"),  # clearance's 0 beats the default: sent
            ("c4", "d@example.com", "SKU-0008-0", None),  # 10 < the default 12: held
            ("c5", "e@example.com", "SKU-0009-0", "clearance"),  # its product's 11 beats clearance: held
        ]
    )
    hub.sync("shop")
    stream = hub.sync("offers_to_crm")["streams"]["offers"]
    assert stream["governance"]["rules"] == {
        "drop:stock.collection.summer": 1,
        "drop:stock.default": 1,
        f"drop:stock.product.{pid}": 1,
    }, stream
    sent = {e for e in "abcde" if hub.crm_offer(f"{e}@example.com") is not None}
    assert sent == {"b", "c"}
    assert [d.rule for d in decisions_for(hub.ctx.engine, "warehouse:c1")] == ["stock.collection.summer"]


RULES_SHOWN_AT = 27  # the first line under `stock:` after inventory and catalog


@pytest.mark.parametrize(
    ("rules", "line", "says"),
    [
        ("default: 1\nproducts: {SKU-0001-0: -2}\n", RULES_SHOWN_AT + 1, "greater than or equal to 0"),
        ("collections: {summer: many}\n", RULES_SHOWN_AT, "valid integer"),
        ("default: 1\nthreshold: 3\n", RULES_SHOWN_AT + 1, "threshold"),
    ],
)
def test_a_bad_stock_rule_stops_the_load_at_its_line(
    tmp_path: Path, sandbox: Sandbox, rules: str, line: int, says: str
) -> None:
    hub = StockHub(tmp_path, sandbox)
    hub.workspace(rules)
    with pytest.raises(ConfigError) as err:
        load_workspace(tmp_path / "crossdock.yaml")
    assert f"crossdock.yaml:{line}" in str(err.value) and says in str(err.value), str(err.value)
    assert not (tmp_path / "warehouse.db").exists()  # nothing read or written


def test_a_stock_rule_naming_an_unknown_stream_names_its_line(tmp_path: Path, sandbox: Sandbox) -> None:
    hub = StockHub(tmp_path, sandbox)
    hub.workspace("default: 1\n")
    text = (tmp_path / "crossdock.yaml").read_text()
    (tmp_path / "crossdock.yaml").write_text(text.replace("stream: inventory_levels}", "stream: levels}"))
    with pytest.raises(ConfigError) as err:
        load_workspace(tmp_path / "crossdock.yaml")
    assert "crossdock.yaml:25" in str(err.value) and "no stream `levels`" in str(err.value), str(err.value)


@pytest.mark.postgres
def test_a_sold_out_offer_is_held_on_postgresql(
    tmp_path: Path, sandbox: Sandbox, pg_schema_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inventory, offers and the decisions table all in PostgreSQL."""
    monkeypatch.setenv("CROSSDOCK_STORE_URL", pg_schema_url)
    levels = dict(sandbox.shopify.levels)
    try:
        hub = StockHub(tmp_path, sandbox, warehouse=pg_schema_url)
        hub.workspace("default: 3\n")
        hub.set_stock("SKU-0010-0", [1, 1])  # 2 < 3: held
        hub.set_stock("SKU-0011-0", [0, 3])
        hub.offers(
            [
                ("p1", "pg.low@example.com", "SKU-0010-0", None),
                ("p2", "pg.ok@example.com", "SKU-0011-0", None),
            ]
        )
        hub.sync("shop")
        stream = hub.sync("offers_to_crm")["streams"]["offers"]
        assert stream["governance"]["rules"] == {"drop:stock.default": 1}, stream
        assert (
            hub.crm_offer("pg.ok@example.com") == "SKU-0011-0" and hub.crm_offer("pg.low@example.com") is None
        )
        held = decisions_for(hub.ctx.engine, "warehouse:p1")
        assert [(d.rule, d.reason) for d in held] == [
            ("stock.default", "available stock 2 is below the threshold 3")
        ]
    finally:
        sandbox.shopify.levels.clear()
        sandbox.shopify.levels.update(levels)


def test_offers_go_only_to_hubspot_contacts() -> None:
    from connectors.hubspot.writeback import HubSpotConfig

    assert HubSpotConfig.model_validate({"access_token": "t", "entity": "offer"}).entity == "offer"
    with pytest.raises(ValueError, match="`entity: offer` is sent to contacts"):
        HubSpotConfig.model_validate({"access_token": "t", "entity": "offer", "object": "companies"})
