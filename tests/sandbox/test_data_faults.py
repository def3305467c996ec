"""Data faults about one record, over real HTTP: `skip` leaves it out of a list page once,
`deleted` hides it everywhere (GET of it is 404), `stale` serves an edit with the old
updatedAt; each counts as served only when a response held the record."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from hub.sandbox import Sandbox
from hub.sandbox.faults import FaultNotServed

CONTACTS = "/crm/v3/objects/contacts"


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox(seed=3, scale=30, port=0) as sandbox:
        yield sandbox


def ids(sb: Sandbox, **params: Any) -> list[str]:
    r = httpx.get(sb.url + CONTACTS, params={"limit": 100, **params}, headers=_auth(sb))
    return [o["id"] for o in r.json()["results"]]


def _auth(sb: Sandbox) -> dict[str, str]:
    return {"Authorization": f"Bearer {sb.token}"}


def test_skip_leaves_the_record_out_of_one_page_only(sb: Sandbox) -> None:
    with sb.faults.planted(CONTACTS, "skip", record="5", times=1) as fault:
        assert "5" not in ids(sb)
        assert "5" in ids(sb)  # the next read sees it again
    assert fault.served == 1


def test_deleted_hides_the_record_from_lists_and_by_id(sb: Sandbox) -> None:
    with sb.faults.planted(CONTACTS, "deleted", record="7", times=None):
        assert "7" not in ids(sb)
        assert httpx.get(f"{sb.url}{CONTACTS}/7", headers=_auth(sb)).status_code == 404
        assert httpx.get(f"{sb.url}{CONTACTS}/8", headers=_auth(sb)).status_code == 200
    assert "7" in ids(sb)  # off after the block


def test_stale_serves_the_edit_with_the_old_updated_at(sb: Sandbox) -> None:
    before = sb.hubspot.objects("contacts")["9"]
    with sb.faults.planted(CONTACTS, "stale", record="9", times=None, changes={"properties": {"city": "X"}}):
        (served,) = [
            o
            for o in httpx.get(sb.url + CONTACTS, params={"limit": 100}, headers=_auth(sb)).json()["results"]
            if o["id"] == "9"
        ]
    assert served["properties"]["city"] == "X" and served["updatedAt"] == before["updatedAt"]
    assert sb.hubspot.objects("contacts")["9"]["properties"]["city"] != "X"  # the store is untouched


def test_a_data_fault_whose_record_never_came_back_fails(sb: Sandbox) -> None:
    with pytest.raises(FaultNotServed, match="record 999"):
        with sb.faults.planted(CONTACTS, "deleted", record="999", times=None):
            ids(sb)  # no response held record 999: the fault proved nothing


def test_a_data_fault_needs_its_record_and_a_stale_one_its_changes(sb: Sandbox) -> None:
    with pytest.raises(ValueError, match="record=<its id>"):
        sb.faults.planted(CONTACTS, "skip")
    with pytest.raises(ValueError, match="changes="):
        sb.faults.planted(CONTACTS, "stale", record="1")
