"""A real sync against the sandbox posts its partial outcome to a real local webhook; a
webhook that stays down changes nothing about the run (docs/operations.md)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from hub.cli import app
from tests.ops.webhook import local_receiver

runner = CliRunner()


@pytest.mark.usefixtures("prefect_server")
@pytest.mark.parametrize("hub", ["sqlite"], indirect=True)  # the webhook does not care about the store
def test_partial_sync_notifies_and_a_dead_webhook_does_not_fail_it(hub, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    path = hub.ctx.workspace_file
    path.write_text(
        path.read_text()
        + "notifications:\n  webhook: ${env:CROSSDOCK_TEST_WEBHOOK}\n  on: [failed, partial]\n  attempts: 2\n"
    )
    with local_receiver() as receiver:
        monkeypatch.setenv("CROSSDOCK_TEST_WEBHOOK", receiver.url)
        receiver.codes = [503]  # down: both tries refused
        with hub.sandbox.faults.planted(path_prefix="/crm/v3/objects/companies", kind="500", times=None):
            result = runner.invoke(app, ["--workspace", str(hub.ctx.workspace_dir), "sync", "crm", "--json"])
    assert result.exit_code == 3, result.output  # partial, as without notifications
    run_id = json.loads(result.stdout)["run_id"]
    assert [b["run_id"] for b in receiver.bodies] == [run_id, run_id]  # tried twice
    body = receiver.bodies[-1]
    assert body["status"] == "partial" and "companies" in body["error"]
    assert body["text"].startswith(f"crossdock: connection `crm` run {run_id} partial")
    assert body["records_written"] == len(hub.sandbox.hubspot.objects("contacts"))
    [failed] = hub.ctx.audit.entries(action="notify.failed")
    assert failed["details"]["run_id"] == run_id and "503" in failed["details"]["error"]
