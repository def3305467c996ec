"""Store schema revisions (hub/store/schema.py, issue 17): a store of the previous schema, with
runs, state, dead letters, the audit chain and secrets in it, is refused by every command until
`crossdock upgrade` migrates it in place, with nothing lost; on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import os
import socket
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from hub.audit import AuditLog
from hub.cli import app
from hub.context import HubContext
from hub.secrets import SecretStore
from hub.store import runs
from hub.store.engine import get_engine
from hub.store.schema import VERSION_TABLE, import_store_tables, schema_status, upgrade_store

PREVIOUS = "0001"  # the schema before stream state recorded its destination (revision 0002)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def ws(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workspace whose store URL is SQLite (its default file) or a fresh PostgreSQL schema."""
    for name in ("CROSSDOCK_STORE_URL", "CROSSDOCK_MASTER_KEY", "CROSSDOCK_AUDIT_HEAD"):
        monkeypatch.delenv(name, raising=False)
    if request.param == "postgresql":
        monkeypatch.setenv("CROSSDOCK_STORE_URL", request.getfixturevalue("pg_schema_url"))
    (tmp_path / "crossdock.yaml").write_text("version: 1\nconnections: {}\n")
    return tmp_path


def invoke(ws: Path, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["--workspace", str(ws), *args])


def store_engine(ws: Path) -> Engine:
    """The store's engine without the context's check (which would refuse the old store)."""
    import_store_tables()
    return get_engine(HubContext(ws).store_url)


def fill_old_store(ws: Path, engine: Engine) -> int:
    """What a hub on the previous schema left: a run, a checkpoint, dead letters, audited
    actions and a secret. The number of audit entries."""
    ctx = HubContext(ws)  # key material only: its engine would refuse the store
    runs.start_run(engine, "run-1", "crm", False)
    runs.add_dead_letters(engine, "run-1", "crm", "contacts", [({"id": 7}, "bad email")])
    runs.finish_run(engine, "run-1", "partial", error="contacts: 1 dead letter")
    with engine.begin() as conn:  # the previous schema's row: no `destination`
        conn.execute(
            text(
                "INSERT INTO stream_state (connection, stream, state, run_id, updated_at) "
                "VALUES ('crm', 'contacts', :state, 'run-1', :at)"
            ),
            {"state": json.dumps({"updatedAt": "2026-11-01"}), "at": datetime.now(UTC)},
        )
    audit = AuditLog(engine, ctx.keyring, head_file=ctx.audit_head_file)
    SecretStore(engine, ctx.keyring).set("CRM_TOKEN", "tok-2718")
    audit.append("secret.set", actor="cli", target="CRM_TOKEN")
    audit.append("sync.start", target="crm", details={"run_id": "run-1"})
    audit.append("sync.end", target="crm", details={"run_id": "run-1", "status": "partial"})
    return len(audit.entries())


def assert_nothing_lost(ws: Path, entries: int) -> None:
    ctx = HubContext(ws)
    [run] = runs.list_runs(ctx.engine)
    assert (run.id, run.status, run.error) == ("run-1", "partial", "contacts: 1 dead letter")
    state = runs.load_state(ctx.engine, "crm", "contacts")
    assert state is not None and state.state == {"updatedAt": "2026-11-01"} and state.run_id == "run-1"
    assert state.destination is None  # the new column, NULL in the old row (adopted by the next run)
    with ctx.engine.connect() as conn:
        assert conn.execute(text("SELECT reason FROM dead_letters")).scalars().all() == ["bad email"]
    assert ctx.secrets.get("CRM_TOKEN") == "tok-2718"
    verified = invoke(ws, "audit", "verify")
    assert verified.exit_code == 0, verified.output
    [*kept, last] = ctx.audit.entries()
    assert len(kept) == entries
    assert last["action"] == "store.upgrade"
    # The new column works: a checkpoint saved now records its destination.
    runs.save_state(ctx.engine, "crm", "contacts", {"updatedAt": "2026-11-02"}, "run-2", "dest-fp")
    saved = runs.load_state(ctx.engine, "crm", "contacts")
    assert saved is not None and saved.destination == "dest-fp"


def test_a_store_of_the_previous_schema_is_refused_then_upgraded_in_place(ws: Path) -> None:
    engine = store_engine(ws)
    upgrade_store(engine, PREVIOUS)  # the real revisions, from an empty database
    entries = fill_old_store(ws, engine)

    for command in (["runs"], ["status"], ["audit", "verify"], ["secrets", "list"]):
        refused = invoke(ws, *command)
        assert refused.exit_code == 2, (command, refused.output)
        assert "run `crossdock upgrade`" in refused.output and f"revision {PREVIOUS}" in refused.output
        assert "Traceback" not in refused.output and len(refused.output.strip().splitlines()) == 1

    done = invoke(ws, "upgrade", "--json")
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    head = schema_status(engine).head
    assert (report["from"], report["to"], report["upgraded"]) == (PREVIOUS, head, True)
    assert "password" not in report["store"]
    assert_nothing_lost(ws, entries)
    [upgraded] = [e for e in HubContext(ws).audit.entries() if e["action"] == "store.upgrade"]
    assert upgraded["details"] == {"from": PREVIOUS, "to": head}

    again = invoke(ws, "upgrade")
    assert again.exit_code == 0 and "nothing to do" in again.output
    assert invoke(ws, "runs").exit_code == 0


def test_a_store_made_before_schema_revisions_is_adopted(ws: Path) -> None:
    """A store of the previous schema with no version table (what Crossdock made before it used
    Alembic), also missing a table of a newer feature: `upgrade` adopts it."""
    engine = store_engine(ws)
    upgrade_store(engine, PREVIOUS)
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE {VERSION_TABLE}"))
        conn.execute(text("DROP TABLE reconcile_reports"))
    entries = fill_old_store(ws, engine)

    refused = invoke(ws, "runs")
    assert (
        refused.exit_code == 2 and "unversioned" in refused.output and "crossdock upgrade" in refused.output
    )

    done = invoke(ws, "upgrade")
    assert done.exit_code == 0, done.output
    assert "from schema revision unversioned" in done.output
    assert_nothing_lost(ws, entries)
    assert inspect(engine).has_table("reconcile_reports")


def test_a_new_store_is_created_at_the_newest_revision(ws: Path) -> None:
    assert invoke(ws, "runs").exit_code == 0
    status = schema_status(store_engine(ws))
    assert status.current == status.head and not status.needs_upgrade
    assert HubContext(ws).audit.entries() == []  # creating a store is no upgrade


def test_a_store_from_a_newer_crossdock_is_refused(ws: Path) -> None:
    assert invoke(ws, "runs").exit_code == 0
    with store_engine(ws).begin() as conn:
        conn.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = '9999'"))
    for command in (["runs"], ["upgrade"]):
        refused = invoke(ws, *command)
        assert refused.exit_code == 2
        assert "revision 9999, which this Crossdock does not know" in refused.output


def test_the_revisions_build_exactly_the_schema_of_the_models(ws: Path) -> None:
    """Run from an empty database, the revisions give the tables, columns and indexes the
    models declare: a model changed without a revision fails here."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    engine = store_engine(ws)
    upgrade_store(engine, PREVIOUS)
    upgrade_store(engine)
    with engine.connect() as conn:
        migration = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        assert compare_metadata(migration, SQLModel.metadata) == []


def test_upgrade_waits_for_a_running_sync(ws: Path) -> None:
    """A live run (its lease row's process is this one) keeps the store as it is."""
    engine = store_engine(ws)
    upgrade_store(engine, PREVIOUS)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO run_leases (connection, run_id, host, pid, since, heartbeat) "
                "VALUES ('crm', 'run-live', :host, :pid, :now, :now)"
            ),
            {"host": socket.gethostname(), "pid": os.getpid(), "now": time.time()},
        )
    refused = invoke(ws, "upgrade")
    assert refused.exit_code == 1 and "connection `crm` is being synced" in refused.output
    assert "run run-live" in refused.output and "nothing was changed" in refused.output
    assert schema_status(engine).current == PREVIOUS
