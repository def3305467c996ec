"""One real sync, run as an operator would (`crossdock --log-format json sync`, another process),
seen from the operations side:

- stderr holds only JSON lines, with the run id and the stream on the stream's records, and no
  secret;
- the Prefect flow run's name and tags say the connection and the trigger;
- the run publishes its summary (a table artifact) and what needs attention (a markdown one).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterTags
from prefect.client.schemas.sorting import FlowRunSort

from flows.artifacts import artifact_key, attention_markdown, trigger_of
from hub.pipeline.info import RunInfo, StreamInfo
from hub.sandbox import Sandbox
from hub.store import runs

TOKEN = "sandbox-token"  # what the connector sends (via ${env:}); must never reach a log line


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:  # smaller than the suite's default: only the views matter
    with Sandbox(seed=7, scale=200, port=0) as sb:
        yield sb


def _flow_run_and_artifacts(connection: str) -> tuple[Any, dict[str, Any]]:
    """The connection's newest flow run, and its artifacts by key."""

    async def read() -> tuple[Any, dict[str, Any]]:
        async with get_client() as client:
            [flow_run] = await client.read_flow_runs(
                flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=[f"connection:{connection}"])),
                sort=FlowRunSort.START_TIME_DESC,
                limit=1,
            )
            # the API itself: this client's read_artifacts sends nulls the server refuses (422)
            response = await client.request(
                "POST",
                "/artifacts/filter",
                json={"artifacts": {"flow_run_id": {"any_": [str(flow_run.id)]}}, "limit": 50, "offset": 0},
            )
        return flow_run, {a["key"]: a for a in response.json()}

    return asyncio.run(read())


@pytest.mark.usefixtures("prefect_server")
@pytest.mark.parametrize("hub", ["sqlite"], indirect=True)  # neither view depends on the store
def test_json_logs_run_name_tags_and_artifacts_of_a_real_sync(hub) -> None:  # type: ignore[no-untyped-def]
    from prefect.settings import PREFECT_API_URL

    # a connection name of its own: the session's Prefect server is shared with other tests
    name = f"crm_{uuid4().hex[:6]}"
    path = hub.ctx.workspace_file
    crm_only = path.read_text().split("\n  support:\n")[0]  # fewer manifests to load per command
    crm_only = crm_only.replace("\n  crm:\n", f"\n  {name}:\n", 1)
    path.write_text(crm_only.replace(f"access_token: {TOKEN}", "access_token: ${env:CRM_TOKEN}") + "\n")
    bad = hub.sandbox.hubspot.create("contacts", {"email": "bad@example.org"})
    hub.sandbox.hubspot.objects("contacts")[bad["id"]]["updatedAt"] = "not a date"  # cannot be mapped
    # a state saved for another destination: the stream logs a warning that it reads from scratch
    runs.save_state(hub.ctx.engine, name, "contacts", {"cursor": "2020"}, "an-old-run", "another-warehouse")
    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value()), "CRM_TOKEN": TOKEN}
    env.pop("CROSSDOCK_STORE_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "hub.cli", "--log-format", "json", "--workspace", str(path.parent)]
        + ["sync", name, "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    run_id = json.loads(done.stdout)["run_id"]

    # 1. the log: JSON lines only, run and stream on the stream's records, no secret
    lines = done.stderr.splitlines()
    assert lines, "no log lines: the test would prove nothing"
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"not a JSON line on stderr: {line!r}")
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    streamed = [r for r in records if r.get("stream") == "contacts"]
    assert any("for another destination" in r["message"] for r in streamed), [r["message"] for r in records]
    assert all(r["run_id"] == run_id and r["connection"] == name for r in streamed)
    assert TOKEN not in done.stderr and TOKEN not in done.stdout

    # 2. the flow run says what it is
    flow_run, artifacts = _flow_run_and_artifacts(name)
    assert flow_run.name == f"sync-{name}-cli"
    assert {"crossdock", f"connection:{name}", "trigger:cli"} <= set(flow_run.tags)

    # 3. its artifacts: the summary, and the dead letter as needing attention
    key = artifact_key(name)
    assert key == f"sync-{name.replace('_', '-')}" and set(artifacts) == {key, f"{key}-attention"}
    table = artifacts[key]
    assert table["type"] == "table" and run_id in table["description"]
    by_stream = {r["stream"]: r for r in json.loads(table["data"])}
    contacts = len(hub.sandbox.hubspot.objects("contacts"))
    companies = len(hub.sandbox.hubspot.objects("companies"))
    assert by_stream["contacts"]["read"] == contacts and by_stream["contacts"]["dead letters"] == 1
    assert by_stream["companies"]["status"] == "succeeded" and by_stream["companies"]["written"] == companies
    total = by_stream["(total)"]
    assert total["status"] == "succeeded" and total["written"] == contacts - 1 + companies
    note = artifacts[f"{key}-attention"]
    assert note["type"] == "markdown" and f"run {run_id} succeeded" in note["data"]
    assert "## Dead letters: 1" in note["data"] and "| contacts | " in note["data"]
    assert "updated_at" in note["data"] and "bad@example.org" not in note["data"]  # reasons, not records
    assert "## Failed streams" not in note["data"]


def test_trigger_from_the_flow_run() -> None:
    assert trigger_of(None, False) == "cli"  # called in process: crossdock sync, the demo
    assert trigger_of(uuid4(), True) == "schedule"  # created by the server's scheduler
    assert trigger_of(uuid4(), False) == "deployment"  # a deployment run by hand (UI, CLI)


def test_attention_note_only_when_something_needs_a_person() -> None:
    ok = StreamInfo("contacts", "t", "succeeded", 5, 5, seconds=1.0)
    assert attention_markdown(RunInfo("r1", "crm", "succeeded", False, 1.0, "sql", [ok]), []) is None

    failed = StreamInfo("companies", "t", "failed", error="HTTP 500 | twice\nthen gave up")
    note = attention_markdown(RunInfo("r2", "crm", "partial", False, 1.0, "sql", [ok, failed]), [])
    assert note is not None and "run r2 partial" in note
    assert "- **companies**: HTTP 500 \\| twice then gave up" in note and "**contacts**" not in note

    wb = StreamInfo("contacts", "t", "succeeded", 5, 5, writeback={"accepted": 3, "rejected": 2})
    note = attention_markdown(RunInfo("r3", "crm_out", "succeeded", False, 1.0, "hubspot", [wb]), [])
    assert note is not None and "2 rejected" in note and "crossdock results r3 --rejected" in note


def test_stitch_summary_as_a_table() -> None:
    from flows.artifacts import stitch_table
    from hub.identity.run import StitchSummary

    summary = StitchSummary("s1", "full", 120, 120, 80, 80, 30, 2, 5, 40, 3, "sqlite:///p.db", 1.5)
    rows = {r["measure"]: r["value"] for r in stitch_table(summary)}
    assert rows["profiles"] == 80 and rows["review"] == 5 and "run_id" not in rows
