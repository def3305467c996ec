"""HubSpot: records changed while a sync pages through them are not lost, and a window with more
changes than the search can page through does not fail (sandbox -> connector -> SQL, via the flow).

SQLite only and a smaller CRM than conftest's: the behaviour is the connector's, the backends
are covered elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from flows.sync import sync_connection
from hub.sandbox import Sandbox

pytestmark = [
    pytest.mark.usefixtures("prefect_server"),
    pytest.mark.parametrize("hub", ["sqlite"], indirect=True),
]


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(seed=7, scale=400, port=0) as sb:
        yield sb


def sync(hub: Any) -> dict[str, Any]:
    return sync_connection("crm", workspace_dir=str(hub.ctx.workspace_dir)).to_dict()


def cities(hub: Any) -> dict[str, str]:
    return {r["source_id"]: r["city"] for r in hub.rows("crm_contacts")}


def test_a_record_changed_behind_the_first_sync_arrives_on_the_next(hub: Any) -> None:
    crm = hub.sandbox.hubspot
    last = max(crm.objects("contacts"), key=int)

    def change_behind_and_ahead(_n: int, page: list[str]) -> bool:
        if "10" not in page:
            return False
        # contact 10 is on this page (as good as sent); the last contact is not read yet
        now = datetime.now(UTC)
        crm.update("contacts", "10", {"city": "Changed behind"}, updated_at=now - timedelta(seconds=1))
        crm.update("contacts", last, {"city": "Changed ahead"}, updated_at=now)
        return True

    crm.after_page("list", "contacts", change_behind_and_ahead)
    first = sync(hub)
    assert first["status"] == "succeeded", first
    assert cities(hub)[last] == "Changed ahead"
    assert cities(hub)["10"] != "Changed behind"  # read before the change: stale for now

    second = sync(hub)
    assert second["status"] == "succeeded", second
    assert cities(hub)["10"] == "Changed behind", "the change behind the first read was never read"
    hub.assert_destination_equals_source()


def test_records_changed_again_during_an_incremental_read_shift_nothing(hub: Any) -> None:
    crm = hub.sandbox.hubspot
    assert sync(hub)["status"] == "succeeded"
    ids = sorted(crm.objects("contacts"), key=int)[:300]
    for cid in ids:
        crm.update("contacts", cid, {"city": "Second"})

    def change_again(_n: int, page: list[str]) -> bool:
        if ids[0] not in page:  # (the older, empty 30-day windows are searched too)
            return False
        # The first 100 of the first page with changes change again: they leave the sync's
        # window. An offset pager would then skip the records that slide into their places.
        for cid in ids[:100]:
            crm.update("contacts", cid, {"city": "Third"})
        return True

    crm.after_page("search", "contacts", change_again)
    second = sync(hub)
    assert second["status"] == "succeeded", second
    seen = cities(hub)
    missed = [cid for cid in ids[100:] if seen[cid] != "Second"]
    assert not missed, f"{len(missed)} changed contacts never arrived, e.g. {missed[:5]}"

    third = sync(hub)  # the records changed during the second sync arrive now
    assert third["status"] == "succeeded", third
    assert all(cities(hub)[cid] == "Third" for cid in ids[:100])
    hub.assert_destination_equals_source()


def test_more_changes_than_the_search_can_page_through_do_not_stick_the_stream(hub: Any) -> None:
    crm = hub.sandbox.hubspot
    crm.search_cap = 1_000  # HubSpot's is 10,000 (tests/connectors/hubspot: the real cap)
    assert sync(hub)["status"] == "succeeded"
    ids = sorted(crm.objects("contacts"), key=int)
    for cid in ids:
        crm.update("contacts", cid, {"city": "Bulk"})
    created = [
        crm.create("contacts", {"email": f"bulk{i}@example.org", "city": "Bulk"})["id"]
        for i in range(2_500 - len(ids))
    ]

    second = sync(hub)
    assert second["status"] == "succeeded", second
    assert second["streams"]["contacts"]["read"] >= 2_500
    seen = cities(hub)
    assert all(seen[cid] == "Bulk" for cid in [*ids, *created])
    hub.assert_destination_equals_source()
    # and nothing asked HubSpot for an offset past its cap
    assert not any(status == 400 for (_, status) in hub.sandbox.hits)
