"""`crossdock store migrate --to URL` moves runs, state, the audit chain and the secrets together,
SQLite -> PostgreSQL, and refuses to copy over another store or under a running sync
(issue 19, point 10)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.cli import app
from hub.context import HubContext
from hub.store import runs

pytestmark = pytest.mark.postgres


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("CROSSDOCK_STORE_URL", "CROSSDOCK_MASTER_KEY", "CROSSDOCK_AUDIT_HEAD"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "crossdock.yaml").write_text("version: 1\nconnections: {}\n")
    return tmp_path


def invoke(ws: Path, *args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["--workspace", str(ws), *args], input=stdin)


def test_runs_state_audit_and_secrets_move_together(
    ws: Path, pg_schema_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = HubContext(ws)
    runs.start_run(ctx.engine, "run-1", "crm", False)
    runs.finish_run(ctx.engine, "run-1", "succeeded")
    runs.save_state(ctx.engine, "crm", "contacts", {"updatedAt": "2026-11-01"}, "run-1", "dest-fp")
    ctx.audit.append("sync.end", target="crm", details={"run_id": "run-1"})
    assert invoke(ws, "secrets", "set", "CRM_TOKEN", stdin="tok-3141\n").exit_code == 0
    entries = len(ctx.audit.entries())

    result = invoke(ws, "store", "migrate", "--to", pg_schema_url, "--json")
    assert result.exit_code == 0, result.output
    moved = json.loads(result.stdout)["rows"]
    assert moved["sync_runs"] == 1 and moved["stream_state"] == 1 and moved["secrets"] == 1
    assert moved["audit_events"] == entries

    monkeypatch.setenv("CROSSDOCK_STORE_URL", pg_schema_url)
    moved_ctx = HubContext(ws)
    assert moved_ctx.engine.dialect.name == "postgresql"
    assert [r.id for r in runs.list_runs(moved_ctx.engine)] == ["run-1"]
    state = runs.load_state(moved_ctx.engine, "crm", "contacts")
    assert state is not None and state.state == {"updatedAt": "2026-11-01"} and state.destination == "dest-fp"
    assert moved_ctx.secrets.get("CRM_TOKEN") == "tok-3141"
    assert invoke(ws, "audit", "verify").exit_code == 0
    actions = [e["action"] for e in moved_ctx.audit.entries()]
    assert actions[-1] == "store.migrate" and len(actions) == entries + 1
    # New rows get new ids after the copied ones (the sequences moved on).
    moved_ctx.audit.append("sync.start", target="crm")
    assert invoke(ws, "audit", "verify").exit_code == 0

    # The target now holds a store: a second migration into it is refused, nothing written.
    monkeypatch.delenv("CROSSDOCK_STORE_URL")
    again = invoke(ws, "store", "migrate", "--to", pg_schema_url)
    assert again.exit_code == 2 and "already holds data" in again.output
    assert len(moved_ctx.audit.entries()) == entries + 2


def test_a_running_sync_is_not_left_behind(ws: Path, pg_schema_url: str) -> None:
    ctx = HubContext(ws)
    runs.start_run(ctx.engine, "run-live", "crm", False)
    result = invoke(ws, "store", "migrate", "--to", pg_schema_url)
    assert result.exit_code == 2 and "run run-live is in progress" in result.output
    assert "Traceback" not in result.output
