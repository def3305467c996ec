"""Incremental state belongs to (connection, stream, destination): a new warehouse or a dropped
table is read from scratch, never resumed into a silent partial table (issue "The first hour").

Each end-to-end test runs on SQLite, PostgreSQL and DuckDB warehouses.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import yaml
from sqlalchemy import text
from sqlmodel import Session

from flows.sync import sync_connection
from hub.destinations import open_destination
from hub.pipeline.state_scope import destination_fingerprint, resumable_state
from hub.store import StreamState, create_db_and_tables, get_engine
from hub.store.schema import StoreUpgradeNeededError, upgrade_store

pytestmark = pytest.mark.usefixtures("prefect_server")


def sync(hub) -> dict:  # type: ignore[no-untyped-def]
    return sync_connection("crm", workspace_dir=str(hub.ctx.workspace_dir)).to_dict()


def contacts_in_source(hub) -> int:  # type: ignore[no-untyped-def]
    return sum(1 for o in hub.sandbox.hubspot.objects("contacts").values() if not o.get("archived"))


def point_crm_at(hub, destination: dict) -> None:  # type: ignore[no-untyped-def]
    path = Path(hub.ctx.workspace_dir) / "crossdock.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["connections"]["crm"]["destination"]["config"] = destination
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    hub.destination = destination


def test_a_new_warehouse_is_filled_from_scratch(hub, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert sync(hub)["status"] == "succeeded"
    new_schema = None
    if "schema" in hub.destination:  # PostgreSQL: another schema is another warehouse
        new_schema = f"t_{uuid.uuid4().hex[:12]}"
        new = {**hub.destination, "schema": new_schema}
        dest = open_destination("sql", hub.destination)
        dest._exec([f'CREATE SCHEMA "{new_schema}"'])
        dest.close()
    else:
        scheme, _, old = hub.destination["url"].partition(":///")
        new = {"url": f"{scheme}:///{Path(old).with_name('new_' + Path(old).name)}"}
    try:
        point_crm_at(hub, new)
        second = sync(hub)
        assert second["status"] == "succeeded", second
        contacts = second["streams"]["contacts"]
        assert contacts["read"] == len(hub.sandbox.hubspot.objects("contacts")), contacts
        assert "another destination" in contacts["state_reset"]
        assert len(hub.rows("crm_contacts")) == contacts_in_source(hub)
        hub.assert_destination_equals_source()
    finally:
        if new_schema:
            dest = open_destination("sql", new)
            dest._exec([f'DROP SCHEMA "{new_schema}" CASCADE'])
            dest.close()


def test_a_dropped_table_is_filled_from_scratch(hub) -> None:  # type: ignore[no-untyped-def]
    assert sync(hub)["status"] == "succeeded"
    dest = open_destination("sql", hub.destination)
    dest._exec([f"DROP TABLE {dest._q('crm_contacts')}"])
    dest.close()
    second = sync(hub)
    assert second["status"] == "succeeded", second
    contacts = second["streams"]["contacts"]
    assert contacts["read"] == len(hub.sandbox.hubspot.objects("contacts")), contacts
    assert "not in the destination" in contacts["state_reset"]
    assert second["streams"]["companies"]["state_reset"] is None  # its table is still there
    hub.assert_destination_equals_source()


def test_a_state_saved_before_fingerprints_is_adopted_when_its_table_is_there(hub) -> None:  # type: ignore[no-untyped-def]
    assert sync(hub)["status"] == "succeeded"
    with hub.ctx.engine.begin() as conn:  # what an older store holds
        conn.execute(text("UPDATE stream_state SET destination = NULL"))
    second = sync(hub)
    assert second["status"] == "succeeded", second
    assert second["streams"]["contacts"]["state_reset"] is None
    assert second["streams"]["contacts"]["read"] < 60  # resumed, not read again
    with Session(hub.ctx.engine) as session:
        row = session.get_one(StreamState, ("crm", "contacts"))
    assert row.destination == destination_fingerprint("sql", hub.destination, "crm_contacts")


def test_an_older_store_gets_the_destination_column_by_upgrade(tmp_path: Path) -> None:
    engine = get_engine(f"sqlite:///{tmp_path / 'store.db'}")
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE stream_state (connection VARCHAR NOT NULL, stream VARCHAR NOT NULL, "
                "state JSON NOT NULL, run_id VARCHAR, updated_at DATETIME NOT NULL, "
                "PRIMARY KEY (connection, stream))"
            )
        )
        conn.execute(
            text("INSERT INTO stream_state VALUES ('crm', 'contacts', '{\"c\": 1}', 'r1', '2026-01-01')")
        )
    with pytest.raises(StoreUpgradeNeededError, match="run `crossdock upgrade`"):
        create_db_and_tables(engine)  # what every command does first
    upgrade_store(engine)
    with Session(engine) as session:
        row = session.get_one(StreamState, ("crm", "contacts"))
    assert row.destination is None and row.state == {"c": 1}
    assert resumable_state(row, "abc", True, "t")[0] == {"c": 1}  # adopted: its table is there
    assert resumable_state(row, "abc", False, "t")[0] is None


def test_the_fingerprint_ignores_the_password_and_sees_the_rest() -> None:
    base = {"url": "postgresql://u:one@h:5432/db", "schema": "s"}
    fp = destination_fingerprint("sql", base, "t")
    assert fp == destination_fingerprint("sql", {**base, "url": "postgresql://u:two@h:5432/db"}, "t")
    assert fp != destination_fingerprint("sql", {**base, "url": "postgresql://u:one@h2:5432/db"}, "t")
    assert fp != destination_fingerprint("sql", {**base, "schema": "s2"}, "t")
    assert fp != destination_fingerprint("sql", base, "t2")
