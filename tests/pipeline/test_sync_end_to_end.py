"""One CRM sync end to end: sandbox -> HubSpot connector -> mapping -> SQL, via the Prefect flow.

Each test runs on SQLite and on PostgreSQL (store and destination).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlmodel import Session, select

from flows.sync import sync_connection
from hub.store import DeadLetter, StreamState

pytestmark = pytest.mark.usefixtures("prefect_server")


def sync(hub, full_refresh: bool = False) -> dict:  # type: ignore[no-untyped-def]
    return sync_connection(
        "crm", full_refresh=full_refresh, workspace_dir=str(hub.ctx.workspace_dir)
    ).to_dict()


def test_second_sync_reads_only_changes_and_ends_equal(hub) -> None:  # type: ignore[no-untyped-def]
    first = sync(hub)
    assert first["status"] == "succeeded", first
    contacts = first["streams"]["contacts"]
    assert contacts["read"] == len(hub.sandbox.hubspot.objects("contacts"))
    assert contacts["written"] + contacts["dead_lettered"] + contacts["filtered"] == contacts["read"]
    hub.assert_destination_equals_source()

    ids = sorted(hub.sandbox.hubspot.objects("contacts"), key=int)[:20]
    for cid in ids:
        hub.sandbox.hubspot.update("contacts", cid, {"city": "Tromsø"})
    created = [
        hub.sandbox.hubspot.create("contacts", {"email": f"n{i}@example.org", "firstname": "New"})
        for i in range(5)
    ]

    second = sync(hub)
    assert second["status"] == "succeeded", second
    # only the changed records (and any sharing the saved cursor's instant) are read again
    assert 25 <= second["streams"]["contacts"]["read"] < 60, second["streams"]["contacts"]
    assert second["streams"]["companies"]["read"] < 10
    hub.assert_destination_equals_source()
    rows = {r["source_id"]: r for r in hub.rows("crm_contacts")}
    assert all(rows[cid]["city"] == "Tromsø" for cid in ids)
    assert all(c["id"] in rows for c in created)


def test_records_at_the_saved_cursor_are_not_lost_or_duplicated(hub) -> None:  # type: ignore[no-untyped-def]
    first = sync(hub)
    assert first["status"] == "succeeded"
    # the first (list) read checkpoints when it started, less a lookback (connectors/hubspot)
    saved = first["streams"]["contacts"]["state"]["stream"]["stream_state"]["fullReadStartedAt"]
    cursor = datetime.fromisoformat(saved.replace("Z", "+00:00"))
    # New records stamped with exactly the cursor the first sync saved: a strict
    # "greater than" on the next sync would skip them.
    tied = [
        hub.sandbox.hubspot.create("contacts", {"email": f"tie{i}@example.org"}, updated_at=cursor)
        for i in range(3)
    ]
    second = sync(hub)
    assert second["status"] == "succeeded", second
    hub.assert_destination_equals_source()
    keys = [r["source_id"] for r in hub.rows("crm_contacts")]
    assert {t["id"] for t in tied} <= set(keys)
    assert len(keys) == len(set(keys))


def test_state_is_saved_per_stream(hub) -> None:  # type: ignore[no-untyped-def]
    sync(hub)
    with Session(hub.ctx.engine) as session:
        states = {s.stream: s.state for s in session.exec(select(StreamState)).all()}
    assert set(states) == {"contacts", "companies"}
    assert all(states.values())


def test_a_record_failing_its_mapping_is_dead_lettered_not_dropped(hub) -> None:  # type: ignore[no-untyped-def]
    bad = hub.sandbox.hubspot.create("contacts", {"email": "bad@example.org"})
    # An updatedAt the mapping cannot read as a datetime: the record cannot be mapped.
    hub.sandbox.hubspot.objects("contacts")[bad["id"]]["updatedAt"] = "not a date"
    result = sync(hub, full_refresh=True)
    contacts = result["streams"]["contacts"]
    assert contacts["dead_lettered"] == 1
    assert result["status"] == "succeeded"
    with Session(hub.ctx.engine) as session:
        letters = session.exec(select(DeadLetter)).all()
    assert [d.record["id"] for d in letters] == [bad["id"]]
    assert "updated_at" in letters[0].reason and letters[0].stream == "contacts"
    batches = hub.ctx.audit.entries(action="dead_letter.batch")
    assert [(e["target"], e["details"]["count"]) for e in batches] == [("crm/contacts", 1)]
    assert bad["id"] not in {r["source_id"] for r in hub.rows("crm_contacts")}


def test_runs_and_connections_are_audited(hub) -> None:  # type: ignore[no-untyped-def]
    first = sync(hub)
    sync(hub)
    entries = hub.ctx.audit.entries()
    actions = [(e["action"], e["target"]) for e in entries]
    # the connection is recorded once (unchanged the second time); each run is bracketed
    assert actions.count(("workspace.change", "crm")) == 1
    assert actions.count(("mapping.change", "crm/contacts")) == 1
    assert actions.count(("sync.start", "crm")) == actions.count(("sync.end", "crm")) == 2
    assert actions.count(("stream.end", "crm/contacts")) == 2
    end = next(
        e for e in hub.ctx.audit.entries(action="sync.end") if e["details"]["run_id"] == first["run_id"]
    )
    assert end["details"]["status"] == "succeeded"
    assert end["details"]["streams"]["contacts"]["written"] == first["streams"]["contacts"]["written"]
    assert "sandbox-token" not in str(entries)
    assert hub.ctx.audit.verify().ok

    # editing a mapping is audited with the old and the new version
    mappings = hub.ctx.workspace_dir / "mappings" / "hubspot"
    mappings.mkdir(parents=True)
    source = Path(__file__).resolve().parents[2] / "mappings" / "hubspot" / "contacts.yaml"
    (mappings / "contacts.yaml").write_text(source.read_text() + "# edited\n")
    sync(hub)
    change = hub.ctx.audit.entries(action="mapping.change")[-1]
    assert change["target"] == "crm/contacts"
    assert change["details"]["old_version"] != change["details"]["new_version"]
