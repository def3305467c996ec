"""A record the destination refuses goes to the dead letters; the rest of the stream lands.

A NUL byte in one contact used to stop PostgreSQL's load half way, on every run, with a
message that did not name the record. Now it is the same on every engine: that record is
dead-lettered with the reason and its key, every other record is written and the stream's
state is saved, so the next run goes on from there.
"""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from flows.sync import sync_connection
from hub.store import DeadLetter, StreamState

pytestmark = pytest.mark.usefixtures("prefect_server")


def test_a_nul_byte_in_one_contact_is_dead_lettered_and_the_rest_lands(hub) -> None:  # type: ignore[no-untyped-def]
    contacts = hub.sandbox.hubspot.objects("contacts")
    ids = sorted(contacts, key=int)
    nul_id = ids[len(ids) // 2]
    contacts[nul_id]["properties"]["city"] = "Oslo\x00"
    # A record the mapping refuses in the same run: both kinds of dead letters, each its own.
    unmappable = ids[len(ids) // 2 - 3]
    contacts[unmappable]["updatedAt"] = "not a date"

    run = sync_connection("crm", workspace_dir=str(hub.ctx.workspace_dir)).to_dict()
    assert run["status"] == "succeeded", run
    stream = run["streams"]["contacts"]
    assert stream["dead_lettered"] == 2, stream
    assert stream["written"] + stream["dead_lettered"] + stream["filtered"] == stream["read"]

    with Session(hub.ctx.engine) as session:
        letters = {d.record["id"]: d.reason for d in session.exec(select(DeadLetter)).all()}
        states = {s.stream: s.state for s in session.exec(select(StreamState)).all()}
    assert set(letters) == {nul_id, unmappable}
    assert "NUL byte" in letters[nul_id] and f"source_id='{nul_id}'" in letters[nul_id]
    assert "updated_at" in letters[unmappable]
    assert states.get("contacts"), states  # the checkpoint moved past the refused record

    landed = {r["source_id"] for r in hub.rows("crm_contacts")}
    expected = {oid for oid, o in contacts.items() if not o.get("archived")} - {nul_id, unmappable}
    assert landed == expected

    # The next run is not blocked by it: it reads on from the checkpoint.
    again = sync_connection("crm", workspace_dir=str(hub.ctx.workspace_dir)).to_dict()
    assert again["status"] == "succeeded", again
