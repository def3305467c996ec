"""Outbound API governance on the real path: the sandbox counts each account's calls and
refuses (429) those over its limit; the hub's syncs and write-backs, in separate processes,
share one budget in the store and stay under it; egress rules refuse before sending and
audit it; a daily quota stops a run at a checkpoint and the next run resumes there."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from flows.sync import sync_connection
from hub.apigov import daily_usage
from hub.context import HubContext
from hub.destinations import open_destination
from hub.identity.run import profile_tables
from hub.sandbox import Sandbox
from hub.store import runs
from hub.workspace.locate import BUILTIN_ROOT
from tests.pipeline.writeback import profile

pytestmark = pytest.mark.usefixtures("prefect_server")

CRM = "/crm/"
SYNC = """\
  {name}:
    source:
      connector: hubspot
      config: {{base_url: "{url}", access_token: sandbox-token, start_date: "2020-01-01T00:00:00Z",
               backoff_factor: 0.1}}
    destination: {{type: sql, config: {{url: "sqlite:///synced.db"}}}}
    streams:
{streams}
"""
WRITEBACK = """\
  to_crm:
    source: {{warehouse: "sqlite:///warehouse.db"}}
    destination:
      type: hubspot
      config: {{base_url: "{url}", access_token: sandbox-token, object: contacts, backoff_factor: 0.05}}
    streams:
      profiles: {{sync_mode: full_refresh, mapping: warehouse/profiles}}
"""


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(seed=11, scale=900, port=0) as sb:
        yield sb


def _workspace(root: Path, url: str, budgets: str = "", with_writeback: bool = False) -> HubContext:
    conns = SYNC.format(
        name="crm_a",
        url=url,
        streams="      contacts: {mapping: hubspot/contacts}\n      companies: {mapping: hubspot/companies}",
    )
    conns += SYNC.format(
        name="crm_b",
        url=url,
        streams="      deals: {mapping: hubspot/deals}\n"
        "      owners: {sync_mode: full_refresh, mapping: hubspot/owners}",
    )
    if with_writeback:
        conns += WRITEBACK.format(url=url)
    (root / "crossdock.yaml").write_text(f"version: 1\nconnections:\n{conns}{budgets}")
    return HubContext(root)


def _profiles(root: Path, count: int) -> None:
    spec = profile_tables()["profiles"]
    db = open_destination("sql", {"url": f"sqlite:///{root / 'warehouse.db'}"})
    try:
        db.prepare(spec, "overwrite")
        db.write(spec, "overwrite", [profile(i, f"person{i}@example.org") for i in range(count)])
        db.finish(spec, "overwrite")
    finally:
        db.close()


def _cli(root: Path, *args: str) -> subprocess.Popen[bytes]:
    from prefect.settings import PREFECT_API_URL

    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value())}
    return subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "--workspace", str(root), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_sandbox_counts_and_refuses_calls_over_the_account_limit(sandbox: Sandbox) -> None:
    """The referee: without the hub's budget, a burst goes over and is refused."""
    sandbox.limits.set(CRM, calls=3, seconds=60)
    with httpx.Client(base_url=sandbox.url, headers={"Authorization": "Bearer sandbox-token"}) as client:
        statuses = [client.get("/crm/v3/objects/contacts").status_code for _ in range(5)]
        other = client.get("/crm/v3/objects/contacts", headers={"Authorization": "Bearer other"})
    assert statuses == [200, 200, 200, 429, 429]
    assert other.status_code != 429  # another account has its own count
    assert (sandbox.limits.served(CRM), sandbox.limits.over(CRM)) == (4, 2)


def test_two_syncs_and_a_writeback_in_three_processes_stay_under_the_account_limit(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    budgets = """\
api_budgets:
  accounts:
    portal:
      vendor: hubspot
      connections: [crm_a, crm_b, to_crm]
      windows: [{calls: 4, seconds: 1}]
      margin: 0.25
"""
    ctx = _workspace(tmp_path, sandbox.url, budgets, with_writeback=True)
    _profiles(tmp_path, 500)
    assert ctx.engine is not None  # the store and its tables, before three processes race to make them
    sandbox.limits.set(CRM, calls=4, seconds=1.0)
    procs = [_cli(tmp_path, "sync", name, "--json") for name in ("crm_a", "crm_b", "to_crm")]
    outs = [p.communicate(timeout=240) for p in procs]
    for proc, (_out, err) in zip(procs, outs, strict=True):
        assert proc.returncode == 0, err.decode()[-3000:]
    summaries = [json.loads(out) for out, _ in outs]
    api = [s["api"] for summary in summaries for s in summary["streams"].values()]
    calls = sum(a["calls"] for a in api)
    assert sandbox.limits.over(CRM) == 0  # not one call over the limit, across three processes
    assert sandbox.limits.served(CRM) == calls >= 20  # every call went through the budget
    assert sum(a["waits"] for a in api) > 0  # and the budget was what held them back
    assert {acct for a in api for acct in a["accounts"]} == {"portal"}
    assert sum(summary["api"]["calls"] for summary in summaries) == calls  # the run-level total
    assert summaries[2]["streams"]["profiles"]["writeback"]["accepted"] == 500
    [today] = daily_usage(ctx.engine)
    assert (today["account"], today["calls"], today["throttled"]) == ("portal", calls, 0)


def _audited(ctx: HubContext, action: str) -> list[dict[str, Any]]:
    return ctx.audit.entries(action=action)


def test_base_url_elsewhere_is_refused_before_sending_and_audited(tmp_path: Path, sandbox: Sandbox) -> None:
    ctx = _workspace(tmp_path, "http://api.elsewhere.example")
    info = sync_connection("crm_b", workspace_dir=str(tmp_path))
    assert info.status == "failed"
    deals = info.streams[0]
    assert deals.api is not None and deals.api["refused"] >= 1 and deals.api["calls"] == 0
    assert "api.elsewhere.example" in (deals.error or "") and "allow_hosts" in (deals.error or "")
    refused = _audited(ctx, "api.refused")
    assert {(e["details"]["rule"], e["details"]["host"]) for e in refused} == {
        ("host", "api.elsewhere.example")
    }
    assert sandbox.hits == {}


def test_a_redirect_elsewhere_is_refused_and_audited(tmp_path: Path, sandbox: Sandbox) -> None:
    ctx = _workspace(tmp_path, sandbox.url)

    def redirect(resp: Any) -> None:
        resp.status, resp.body = 302, b""
        resp.headers["Location"] = "http://collector.evil.example/steal"

    sandbox.hooks.after("/crm/v3/objects/contacts", 1, redirect)
    info = sync_connection("crm_a", workspace_dir=str(tmp_path), streams=["contacts"])
    assert info.status == "failed"
    assert "collector.evil.example" in (info.streams[0].error or "")
    [entry] = _audited(ctx, "api.refused")
    assert entry["target"] == "crm_a/contacts"
    assert (entry["details"]["rule"], entry["details"]["host"]) == ("redirect", "collector.evil.example")


def test_a_read_connection_may_not_call_an_undeclared_write_method(tmp_path: Path, sandbox: Sandbox) -> None:
    """The workspace's own copy of the connector declares no `read_writes`: HubSpot's search
    POST (the incremental read) is refused; the first sync, all GETs, is not."""
    own = tmp_path / "connectors" / "hubspot"
    shutil.copytree(BUILTIN_ROOT / "connectors" / "hubspot", own)
    (own / "api.yaml").write_text("hosts: [api.hubapi.com]\n")
    ctx = _workspace(tmp_path, sandbox.url)
    first = sync_connection("crm_a", workspace_dir=str(tmp_path), streams=["contacts"])
    assert first.status == "succeeded"
    second = sync_connection("crm_a", workspace_dir=str(tmp_path), streams=["contacts"])
    assert second.status == "failed"
    assert "POST /crm/v3/objects/contacts/search" in (second.streams[0].error or "")
    [entry] = _audited(ctx, "api.refused")
    assert (entry["details"]["rule"], entry["details"]["method"]) == ("method", "POST")
    assert sandbox.hits.get(("/crm/v3/objects/contacts/search", 200), 0) == 0  # nothing was sent


def test_daily_quota_stops_at_a_checkpoint_and_the_next_run_resumes(tmp_path: Path, sandbox: Sandbox) -> None:
    account = (
        "api_budgets:\n  accounts:\n    portal: {{vendor: hubspot, connections: [crm_a], daily: {daily}}}\n"
    )
    ctx = _workspace(tmp_path, sandbox.url, account.format(daily=1000))
    assert sync_connection("crm_a", workspace_dir=str(tmp_path), streams=["contacts"]).status == "succeeded"
    used = daily_usage(ctx.engine)[0]["calls"]
    before = runs.load_state(ctx.engine, "crm_a", "contacts")
    # A backfill searches in 30-day slices, a checkpoint after each: 4 calls left today.
    _workspace(tmp_path, sandbox.url, account.format(daily=used + 4))
    stopped = sync_connection("crm_a", workspace_dir=str(tmp_path), streams=["contacts"], since="2025-01-01")
    assert stopped.status == "failed"
    contacts = stopped.streams[0]
    assert contacts.api is not None and contacts.api["quota_stops"] >= 1 and contacts.api["calls"] == 4
    assert "daily API quota of portal is used up" in (contacts.error or "")
    assert contacts.api["resume_at"] and "resume" in (contacts.error or "")
    checkpoint = runs.load_state(ctx.engine, "crm_a", "contacts")
    assert checkpoint is not None and before is not None and checkpoint.state != before.state
    assert checkpoint.run_id == stopped.run_id  # the stopped run checkpointed the slices it read
    [stop] = _audited(ctx, "api.quota_stop")
    assert stop["details"]["resume_at"] == contacts.api["resume_at"]
    [end] = [e for e in _audited(ctx, "stream.end") if e["details"]["run_id"] == stopped.run_id]
    assert end["details"]["api"]["quota_stops"] >= 1
    # A new day (here: a larger quota) resumes from the checkpoint, not from the start.
    _workspace(tmp_path, sandbox.url, account.format(daily=used + 1000))
    resumed = sync_connection("crm_a", workspace_dir=str(tmp_path), streams=["contacts"])
    assert resumed.status == "succeeded"
    assert resumed.streams[0].api is not None and resumed.streams[0].api["calls"] > 1  # the slices left
