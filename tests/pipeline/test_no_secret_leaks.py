"""A sync with a known secret: the value appears in no output, log, table or audit entry."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.cli import app
from hub.context import HubContext
from hub.sandbox import Sandbox

TOKEN = "pat-na1-8c7e5a1f-LEAK-CANARY-77"

WORKSPACE = """\
version: 1
connections:
  crm:
    source:
      connector: hubspot
      config:
        base_url: {url}
        access_token: ${{secret:HUBSPOT_TOKEN}}
        backoff_factor: 0.05
    destination:
      type: sql
      config: {{url: "sqlite:///warehouse.db"}}
    streams:
      contacts: {{mapping: hubspot/contacts}}
      companies: {{mapping: hubspot/companies}}
  support:
    source:
      connector: zendesk
      config:
        base_url: {url}
        credentials:
          credentials: api_token
          email: agent@example.com
          api_token: ${{secret:ZENDESK_TOKEN}}
        backoff_factor: 0.05
    destination:
      type: sql
      config: {{url: "sqlite:///warehouse.db"}}
    streams:
      users: {{mapping: zendesk/users}}
      tickets: {{mapping: zendesk/tickets}}
  email:
    source:
      connector: mailchimp
      config:
        base_url: {url}/3.0
        credentials: {{auth_type: apikey, apikey: "${{secret:MAILCHIMP_KEY}}"}}
        backoff_factor: 0.05
    destination:
      type: sql
      config: {{url: "sqlite:///warehouse.db"}}
    streams:
      list_members: {{mapping: mailchimp/list_members}}
  shop:
    source:
      connector: shopify
      config: {{base_url: "{url}", access_token: "${{secret:SHOPIFY_TOKEN}}", backoff_factor: 0.05}}
    destination:
      type: sql
      config: {{url: "sqlite:///warehouse.db"}}
    streams:
      customers: {{mapping: shopify/customers}}
      orders: {{mapping: shopify/orders}}
  crm_out:
    source: {{warehouse: "sqlite:///warehouse.db"}}
    destination:
      type: hubspot
      config: {{base_url: "{url}", access_token: "${{secret:HUBSPOT_TOKEN}}", backoff_factor: 0.05,
               max_attempts: 2}}
    streams:
      crm_contacts: {{mapping: warehouse/contacts}}
"""


@pytest.mark.usefixtures("prefect_server")
def test_secret_never_leaks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                            caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.delenv("CROSSDOCK_STORE_URL", raising=False)
    caplog.set_level(logging.DEBUG)
    runner, ws = CliRunner(), ["--workspace", str(tmp_path)]
    with Sandbox(seed=3, scale=300, token=TOKEN) as sb:
        (tmp_path / "crossdock.yaml").write_text(WORKSPACE.format(url=sb.url))
        outputs = [runner.invoke(app, [*ws, "secrets", "set", "HUBSPOT_TOKEN"], input=TOKEN)]
        outputs.append(runner.invoke(app, [*ws, "check", "crm"]))
        outputs.append(runner.invoke(app, [*ws, "sync", "crm", "--json"]))
        # a failing stream: its error message must not carry the token either
        with sb.faults.planted("/crm/v3/objects/companies", "500", times=None):
            outputs.append(runner.invoke(app, [*ws, "sync", "crm", "--full-refresh"]))
        # a record that fails its mapping goes to dead letters, with the token inside it
        bad = sb.hubspot.create("contacts", {"email": f"x@example.org {TOKEN}"})
        sb.hubspot.objects("contacts")[bad["id"]]["updatedAt"] = "not a date"
        outputs.append(runner.invoke(app, [*ws, "sync", "crm", "--full-refresh"]))
        # the help desk and the email tool: basic auth with the same token, and a failing stream
        outputs.append(runner.invoke(app, [*ws, "secrets", "set", "ZENDESK_TOKEN"], input=TOKEN))
        outputs.append(runner.invoke(app, [*ws, "secrets", "set", "MAILCHIMP_KEY"], input=TOKEN))
        outputs.append(runner.invoke(app, [*ws, "sync", "email", "--json"]))
        with sb.faults.planted("/api/v2/incremental/tickets", "500", times=None):
            outputs.append(runner.invoke(app, [*ws, "sync", "support"]))
        # the shop: a header token, and a failing stream
        outputs.append(runner.invoke(app, [*ws, "secrets", "set", "SHOPIFY_TOKEN"], input=TOKEN))
        with sb.faults.planted("/admin/api/2024-01/orders.json", "500", times=None):
            outputs.append(runner.invoke(app, [*ws, "sync", "shop"]))
        # write-back with the same token: a dry run, a failing run, a run with rejections
        outputs.append(runner.invoke(app, [*ws, "sync", "crm_out", "--dry-run"]))
        with sb.faults.planted("/crm/v3/objects/contacts/batch/upsert", "500", times=None):
            outputs.append(runner.invoke(app, [*ws, "sync", "crm_out"]))
        outputs.append(runner.invoke(app, [*ws, "sync", "crm_out", "--json"]))
        outputs += [runner.invoke(app, [*ws, *cmd]) for cmd in
                    (["runs", "--json"], ["audit", "tail", "--json"], ["secrets", "list"])]

    assert [o.exit_code for o in outputs[:3]] == [0, 0, 0], [o.output for o in outputs]
    assert outputs[3].exit_code == 3 and outputs[4].exit_code == 0
    assert [o.exit_code for o in outputs[5:9]] == [0, 0, 0, 3], [o.output for o in outputs[5:9]]
    assert [o.exit_code for o in outputs[9:11]] == [0, 3], [o.output for o in outputs[9:11]]
    assert [o.exit_code for o in outputs[11:14]] == [0, 1, 0], [o.output for o in outputs[11:14]]
    assert '"rejected": 0,' not in outputs[13].output  # contacts without email: reasons stored
    ctx = HubContext(tmp_path)
    assert ctx.audit.verify().ok
    assert any(e["action"] == "secret.use" for e in ctx.audit.entries())
    dead = ctx.engine.connect().exec_driver_sql("SELECT record FROM dead_letters").fetchall()
    assert len(dead) == 1 and "pii:" in dead[0][0]  # the email (personal data) is masked

    places = {f"output of command {i}": o.output for i, o in enumerate(outputs)}
    places["python logs"] = caplog.text
    places["prefect logs"] = _prefect_logs()
    for db in ("hub.db", "hub.db-wal"):
        path = tmp_path / ".crossdock" / db
        if path.exists():
            places[db] = path.read_bytes().decode("latin-1")
    places["warehouse"] = (tmp_path / "warehouse.db").read_bytes().decode("latin-1")
    leaks = [where for where, text in places.items() if TOKEN in text]
    assert leaks == [], f"the secret value appears in: {leaks}"
    assert len(places["prefect logs"]) > 0  # the check above looked at real logs


def _prefect_logs() -> str:
    from prefect.client.orchestration import get_client
    from prefect.logging.handlers import APILogHandler

    async def read() -> str:
        await APILogHandler.aflush()  # logs are shipped in the background; send what is queued
        async with get_client() as client:
            return "\n".join(log.message for log in await client.read_logs(limit=200, offset=0))

    return asyncio.run(read())
