"""`crossdock state show|reset|set`: the saved state, changed only through the store's
functions, audited without its content, refused while a run holds the connection."""

from __future__ import annotations

import json
from typing import Any

from typer.testing import CliRunner

from hub.cli import app
from hub.context import HubContext
from hub.store import locks, runs

runner = CliRunner()
CURSOR = {"stream": {"stream_state": {"updatedAt": "2026-01-01T00:00:00Z"}}}


def saved(ctx: HubContext, stream: str) -> dict[str, Any] | None:
    """The stream's saved state value (None when there is none)."""
    row = runs.load_state(ctx.engine, "crm", stream)
    return row.state if row else None


def _state(ctx: HubContext, *args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["--workspace", str(ctx.workspace_dir), "state", *args], input=stdin)


def test_show_lists_every_stream(ops_ctx: HubContext) -> None:
    runs.save_state(ops_ctx.engine, "crm", "contacts", CURSOR, "run-1")
    result = _state(ops_ctx, "show", "crm", "--json")
    assert result.exit_code == 0, result.output
    rows = {r["stream"]: r for r in json.loads(result.stdout)}
    assert rows["contacts"]["state"] == CURSOR and rows["contacts"]["written_by"] == "run-1"
    assert rows["companies"]["state"] is None
    assert "no saved state" in _state(ops_ctx, "show", "crm", "companies").stdout
    bad = _state(ops_ctx, "show", "crm", "deals")
    assert bad.exit_code == 2 and "no stream `deals`" in bad.output


def test_set_refuses_json_that_is_not_an_object(ops_ctx: HubContext) -> None:
    runs.save_state(ops_ctx.engine, "crm", "contacts", CURSOR, "run-1")
    for text in ("[1, 2]", '"2026-01-01"', "{not json"):
        result = _state(ops_ctx, "set", "crm", "contacts", text)
        assert result.exit_code == 2, (text, result.output)
    assert saved(ops_ctx, "contacts") == CURSOR


def test_set_from_stdin_is_saved_and_audited_without_its_content(ops_ctx: HubContext) -> None:
    new = {"stream": {"stream_state": {"updatedAt": "2025-06-01T00:00:00Z"}}}
    result = _state(ops_ctx, "set", "crm", "contacts", stdin=json.dumps(new))
    assert result.exit_code == 0, result.output
    assert saved(ops_ctx, "contacts") == new
    [entry] = ops_ctx.audit.entries(action="state.set")
    assert entry["target"] == "crm/contacts" and entry["details"]["old_sha256"] is None
    assert "2025-06-01" not in json.dumps(entry, default=str)


def test_reset_asks_unless_yes(ops_ctx: HubContext) -> None:
    runs.save_state(ops_ctx.engine, "crm", "contacts", CURSOR, "run-1")
    declined = _state(ops_ctx, "reset", "crm", "contacts", stdin="n\n")
    assert declined.exit_code != 0 and saved(ops_ctx, "contacts") == CURSOR
    assert _state(ops_ctx, "reset", "crm", "contacts", stdin="y\n").exit_code == 0
    assert saved(ops_ctx, "contacts") is None
    runs.save_state(ops_ctx.engine, "crm", "companies", CURSOR, "run-2")
    result = _state(ops_ctx, "reset", "crm", "--yes")
    assert result.exit_code == 0, result.output
    assert saved(ops_ctx, "companies") is None
    assert [e["target"] for e in ops_ctx.audit.entries(action="state.reset")] == [
        "crm/contacts",
        "crm/companies",
    ]


def test_a_running_sync_makes_state_changes_wait_their_turn(ops_ctx: HubContext) -> None:
    runs.save_state(ops_ctx.engine, "crm", "contacts", CURSOR, "run-1")
    with locks.hold(ops_ctx.engine, "crm", "20260101T000000-running"):
        busy = _state(ops_ctx, "set", "crm", "contacts", "{}")
        assert busy.exit_code == 4 and "20260101T000000-running" in busy.output
        assert _state(ops_ctx, "reset", "crm", "--yes").exit_code == 4
    assert saved(ops_ctx, "contacts") == CURSOR
