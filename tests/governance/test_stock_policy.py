"""The stock policy among the others: with purposes declared, an offer is a person's row, so
consent decides first and stock second; stock alone reads no people."""

from __future__ import annotations

from datetime import UTC, datetime

from hub.governance.config import GovernanceConfig
from hub.governance.people import PersonIndex
from hub.governance.step import Governor, build_policies
from hub.governance.stock import skus_of_items, stock_by_sku

STOCK = {"inventory": {"connection": "shop", "stream": "inventory_levels"}, "default": 1}
GOVERNED = GovernanceConfig.model_validate(
    {
        "purposes": {"email_marketing": {"consent": ["newsletter"]}},
        "regions": {"eu": {"countries": ["Germany"], "consent": "opt_in", "send_to": ["eu"]}},
        "stock": STOCK,
    }
)


def _governor(config: GovernanceConfig, people: PersonIndex | None) -> Governor:
    def load_people() -> PersonIndex:
        assert people is not None, "stock alone must not read the people"
        return people

    return Governor(
        connection="offers_to_crm",
        stream="offers",
        entity="offer",
        policies=build_policies(
            config, "offers_to_crm", "email_marketing", "eu", True, b"k" * 32, stock=lambda: {"IN": 5}
        ),
        key_fields=("source", "source_id"),
        load_people=load_people,
    )


def _offer(oid: str, email: str, sku: str) -> dict[str, object]:
    return {"source": "warehouse", "source_id": oid, "email": email, "sku": sku, "country": "Germany"}


def test_consent_decides_before_stock_and_stock_holds_a_consented_persons_sold_out_offer() -> None:
    consents = [
        {
            "source": "onetrust",
            "source_id": "1",
            "email": "yes@example.org",
            "purpose": "newsletter",
            "event": "granted",
            "occurred_at": datetime(2026, 1, 1, tzinfo=UTC),
        }
    ]
    governor = _governor(GOVERNED, PersonIndex.build(GOVERNED, consents))
    rows = [
        _offer("1", "yes@example.org", "IN"),
        _offer("2", "yes@example.org", "GONE"),
        _offer("3", "no@example.org", "GONE"),
    ]
    batch = governor.apply(rows, run_id="r")
    assert [r["source_id"] for r in batch.rows if "_cd_withdraw" not in r] == ["1"]
    assert {str(d["record_key"]): d["rule"] for d in batch.decisions} == {
        "warehouse:2": "stock.default",
        "warehouse:3": "consent.email_marketing",
    }


def test_stock_alone_holds_offers_without_reading_people() -> None:
    config = GovernanceConfig.model_validate({"stock": STOCK})
    batch = _governor(config, None).apply([_offer("1", "a@x.org", "IN"), _offer("2", "a@x.org", "GONE")], "r")
    assert [r["source_id"] for r in batch.rows] == ["1"]
    assert batch.decisions[0]["reason"] == "no inventory recorded for the SKU"


def test_stock_is_summed_over_locations_by_the_catalogs_skus() -> None:
    items = skus_of_items([{"variants": '[{"sku": "A", "inventory_item_id": 10}, {"sku": null}]'}])
    levels = [
        {"item_id": "10", "available": 3},
        {"item_id": "10", "available": None},
        {"item_id": "10", "available": 2},
        {"sku": "B", "available": 4},
        {"item_id": "99", "available": 7},  # an item no variant names: no SKU, not counted
    ]
    assert stock_by_sku(levels, items) == {"A": 5, "B": 4}
