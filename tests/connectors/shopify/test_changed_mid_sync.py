"""Shopify: a customer changed during a read arrives by the next run (the first sync included).

Shopify lists by id unless asked otherwise. Read in id order, the newest `updated_at` seen
lands as the state: a customer changed behind the read (already served) with an older
stamp than one changed ahead of it (served later) falls below that state and is never
read again. The connector asks for `order=updated_at asc`, so a changed customer moves
behind the page cursor and is read later in the same read.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from hub.sandbox import Sandbox
from hub.sandbox.shopify import API
from tests.connectors.midsync import latest, read


@pytest.mark.parametrize("first_sync", [True, False], ids=["first-sync", "incremental"])
def test_a_customer_changed_behind_the_read_arrives_by_the_next_run(first_sync: bool) -> None:
    with Sandbox(seed=5, scale=300) as sb:
        shop = sb.shopify
        config = {
            "base_url": sb.url,
            "access_token": sb.token,
            "start_date": "2020-01-01T00:00:00Z",
            "page_size": 10,
            "backoff_factor": 0.01,
        }
        runs, state = [], None
        if not first_sync:  # every customer changed since the last run: a full read again
            records, state = read("shopify", "customers", config)
            runs.append(records)
            now = datetime.now(UTC)
            for n, cid in enumerate(sorted(shop.customers)):
                shop.update_customer(cid, {"note": "touched"}, at=now + timedelta(seconds=n % 3))
        changed: dict[int, str] = {}

        def change(response) -> None:  # type: ignore[no-untyped-def]
            served = orjson.loads(response.body)["customers"]
            now = datetime.now(UTC) + timedelta(minutes=1)
            behind = served[0]["id"]  # already read
            ahead = max(c for c in shop.customers if c not in {s["id"] for s in served})
            shop.update_customer(behind, {"first_name": "Behind"}, at=now)
            shop.update_customer(ahead, {"first_name": "Ahead"}, at=now + timedelta(seconds=5))
            changed.update({behind: "Behind", ahead: "Ahead"})

        sb.hooks.after(f"{API}/customers.json", 1, change)
        records, state = read("shopify", "customers", config, state)
        assert sb.hooks.pending() == 0 and len(changed) == 2, "the change did not happen mid-read"
        runs.append(records)
        runs.append(read("shopify", "customers", config, state)[0])

        got = latest(runs, key=lambda r: r["id"])
        assert {cid: got[cid]["first_name"] for cid in changed} == changed
        assert {cid: (r["updated_at"], r["first_name"]) for cid, r in got.items()} == {
            cid: (c["updated_at"], c["first_name"]) for cid, c in shop.customers.items()
        }
