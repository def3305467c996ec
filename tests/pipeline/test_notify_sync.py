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
        receiver.codes = [503]  # down for the first run: both tries refused
        with hub.sandbox.faults.planted(path_prefix="/crm/v3/objects/companies", kind="500", times=None):
            down = runner.invoke(app, ["--workspace", str(hub.ctx.workspace_dir), "sync", "crm", "--json"])
            assert down.exit_code == 3, down.output  # partial, as without notifications
            receiver.codes = [200]
            up = runner.invoke(app, ["--workspace", str(hub.ctx.workspace_dir), "sync", "crm", "--json"])
        assert up.exit_code == 3, up.output
    first, second = json.loads(down.stdout)["run_id"], json.loads(up.stdout)["run_id"]
    assert [b["run_id"] for b in receiver.bodies] == [first, first, second]
    body = receiver.bodies[-1]
    assert body["status"] == "partial" and "companies" in body["error"]
    assert body["text"].startswith(f"crossdock: connection `crm` run {second} partial")
    assert body["records_written"] == len(hub.sandbox.hubspot.objects("contacts"))
    [failed] = hub.ctx.audit.entries(action="notify.failed")
    [sent] = hub.ctx.audit.entries(action="notify.sent")
    assert failed["details"]["run_id"] == first and sent["details"]["run_id"] == second
