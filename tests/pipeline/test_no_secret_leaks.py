"""A sync with a known secret: the value appears in no output, log, table or audit entry."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from typer.testing import CliRunner, Result

from hub.cli import app
from hub.context import HubContext
from hub.sandbox import Sandbox

# `+ / =` change under URL encoding: a query parameter carries it as %2B %2F %3D.
TOKEN = "pat-na1-8c7e5a1f+LEAK/CANARY=77"

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
      crm_contacts: {{mapping: warehouse/contacts, sync_mode: full_refresh}}
  social:
    source:
      connector: facebook
      config: {{base_url: "{url}", page_id: "104000000000001", access_token: "${{secret:FB_TOKEN}}",
               start_date: "2024-06-01T00:00:00Z", backoff_factor: 0.05}}
    destination:
      type: sql
      config: {{url: "sqlite:///warehouse.db"}}
    streams:
      page_posts: {{mapping: facebook/page_posts}}
      post_comments: {{mapping: facebook/post_comments, sync_mode: full_refresh}}
  consent:
    source:
      connector: onetrust
      config: {{base_url: "{url}", access_token: "${{secret:ONETRUST_TOKEN}}", backoff_factor: 0.05}}
    destination:
      type: sql
      config: {{url: "sqlite:///warehouse.db"}}
    streams:
      data_subjects: {{mapping: onetrust/data_subjects}}
"""


def wire_forms(token: str) -> dict[str, str]:
    """How the token can look in output, written out here (not taken from hub.redaction)."""
    encoded = quote(token, safe="")
    forms = {
        "raw": token,
        "percent-encoded": encoded,
        "percent-encoded, lower hex": re.sub(r"%[0-9A-F]{2}", lambda m: m[0].lower(), encoded),
        "form-encoded": quote_plus(token),
        "JSON-escaped": json.dumps(token)[1:-1],
        "JSON-escaped slashes": json.dumps(token)[1:-1].replace("/", "\\/"),
        "base64": base64.b64encode(token.encode()).decode(),
    }
    for user in ("agent@example.com/token", "anystring"):  # Zendesk's and Mailchimp's Basic auth
        pair = f"{user}:{token}".encode()
        forms[f"Basic auth as {user}"] = base64.b64encode(pair).decode()
        forms[f"Basic auth as {user}, URL-safe"] = base64.urlsafe_b64encode(pair).decode()
    return forms


@pytest.mark.usefixtures("prefect_server")
def test_secret_never_leaks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
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
        outputs += [
            runner.invoke(app, [*ws, *cmd])
            for cmd in (["runs", "--json"], ["audit", "tail", "--json"], ["secrets", "list"])
        ]

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

    assert _leaks(tmp_path, outputs, caplog) == []


@pytest.mark.usefixtures("prefect_server")
def test_a_secret_sent_encoded_never_leaks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Graph takes the token as a query parameter, sent percent-encoded: a refused one
    (HTTP 400) fails with the URL it called, in the CDK's log, the error and Prefect's log."""
    monkeypatch.delenv("CROSSDOCK_STORE_URL", raising=False)
    caplog.set_level(logging.DEBUG)
    runner, ws = CliRunner(), ["--workspace", str(tmp_path)]
    with Sandbox(seed=3, scale=100, token=TOKEN) as sb:
        (tmp_path / "crossdock.yaml").write_text(WORKSPACE.format(url=sb.url))
        outputs = [
            runner.invoke(app, [*ws, "secrets", "set", name], input=TOKEN)
            for name in ("FB_TOKEN", "ONETRUST_TOKEN")
        ]
        outputs.append(runner.invoke(app, [*ws, "check", "social"]))
        sb.facebook_pages.token = "rotated"
        outputs.append(runner.invoke(app, [*ws, "check", "social"]))
        outputs.append(runner.invoke(app, [*ws, "sync", "social"]))
        outputs.append(runner.invoke(app, [*ws, "sync", "consent"]))  # a Bearer header
    assert [o.exit_code for o in outputs] == [0, 0, 0, 1, 1, 0], [o.output for o in outputs]
    assert _leaks(tmp_path, outputs, caplog) == []


def _leaks(tmp_path: Path, outputs: list[Result], caplog: pytest.LogCaptureFixture) -> list[str]:
    """Every place the token could end up, searched for every form of it."""
    places = {f"output of command {i}": o.output for i, o in enumerate(outputs)}
    places["python logs"] = caplog.text
    places["prefect logs"] = _prefect_logs()
    for db in ("hub.db", "hub.db-wal"):
        path = tmp_path / ".crossdock" / db
        if path.exists():
            places[db] = path.read_bytes().decode("latin-1")
    places["warehouse"] = (tmp_path / "warehouse.db").read_bytes().decode("latin-1")
    forms = wire_forms(TOKEN)
    leaks = [
        f"{form} in {where}"
        for where, text in places.items()
        for form, value in forms.items()
        if value in text
    ]
    assert len(places["prefect logs"]) > 0  # the check above looked at real logs
    return leaks


def _prefect_logs() -> str:
    from prefect.client.orchestration import get_client
    from prefect.logging.handlers import APILogHandler

    async def read() -> str:
        await APILogHandler.aflush()  # logs are shipped in the background; send what is queued
        async with get_client() as client:
            messages: list[str] = []
            while page := await client.read_logs(limit=200, offset=len(messages)):
                messages += [log.message for log in page]
            return "\n".join(messages)

    return asyncio.run(read())
