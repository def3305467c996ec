"""A real sync publishes its summary (table) and what needs attention (markdown) as Prefect
artifacts on the flow run, whose name and tags say the connection and the trigger."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterTags
from prefect.client.schemas.sorting import FlowRunSort
from typer.testing import CliRunner

from flows.artifacts import artifact_key, attention_markdown, trigger_of
from hub.cli import app
from hub.pipeline.info import RunInfo, StreamInfo
from hub.sandbox import Sandbox

runner = CliRunner()


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:  # smaller than the suite's default: only the artifacts matter
    with Sandbox(seed=7, scale=200, port=0) as sb:
        yield sb


def _flow_run_and_artifacts(connection: str) -> tuple[Any, dict[str | None, Any]]:
    """The connection's newest flow run, and its artifacts by key."""

    async def read() -> tuple[Any, dict[str | None, Any]]:
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
@pytest.mark.parametrize("hub", ["sqlite"], indirect=True)  # artifacts do not depend on the store
def test_partial_sync_publishes_summary_and_attention(hub) -> None:  # type: ignore[no-untyped-def]
    # a connection name of its own: the session's Prefect server is shared with other tests
    name = f"crm_{uuid4().hex[:6]}"
    path = hub.ctx.workspace_file
    crm_only = path.read_text().split("\n  support:\n")[0]  # fewer manifests to load per run
    path.write_text(crm_only.replace("\n  crm:\n", f"\n  {name}:\n", 1) + "\n")
    bad = hub.sandbox.hubspot.create("contacts", {"email": "bad@example.org"})
    hub.sandbox.hubspot.objects("contacts")[bad["id"]]["updatedAt"] = "not a date"  # cannot be mapped
    with hub.sandbox.faults.planted(path_prefix="/crm/v3/objects/companies", kind="malformed", times=None):
        result = runner.invoke(app, ["--workspace", str(hub.ctx.workspace_dir), "sync", name, "--json"])
    assert result.exit_code == 3, result.output  # partial
    run_id = json.loads(result.stdout)["run_id"]

    flow_run, artifacts = _flow_run_and_artifacts(name)
    assert flow_run.name == f"sync-{name}-cli"
    assert {"crossdock", f"connection:{name}", "trigger:cli"} <= set(flow_run.tags)
    key = artifact_key(name)
    assert key == f"sync-{name.replace('_', '-')}" and set(artifacts) == {key, f"{key}-attention"}

    table = artifacts[key]
    rows = json.loads(table["data"])
    by_stream = {r["stream"]: r for r in rows}
    contacts_count = len(hub.sandbox.hubspot.objects("contacts"))
    assert by_stream["contacts"]["status"] == "succeeded"
    assert by_stream["contacts"]["read"] == contacts_count and by_stream["contacts"]["dead letters"] == 1
    assert by_stream["companies"]["status"] == "failed" and by_stream["companies"]["error"]
    assert by_stream["(total)"]["status"] == "partial"
    assert by_stream["(total)"]["written"] == contacts_count - 1
    assert table["type"] == "table" and run_id in table["description"] and "partial" in table["description"]

    note = artifacts[f"{key}-attention"]["data"]
    assert artifacts[f"{key}-attention"]["type"] == "markdown"
    assert f"run {run_id} partial" in note
    assert "## Failed streams" in note and "**companies**" in note
    assert "## Dead letters: 1" in note and "| contacts | " in note and "updated_at" in note
    assert "sandbox-token" not in note and "bad@example.org" not in note  # reasons, not records


def test_trigger_from_the_flow_run() -> None:
    assert trigger_of(None, False) == "cli"  # called in process: crossdock sync, the demo
    assert trigger_of(uuid4(), True) == "schedule"  # created by the server's scheduler
    assert trigger_of(uuid4(), False) == "deployment"  # a deployment run by hand (UI, CLI)


def test_no_attention_note_for_a_clean_run_and_one_for_rejected_write_backs() -> None:
    clean = RunInfo(
        "r1", "crm", "succeeded", False, 1.0, "sql", [StreamInfo("contacts", "t", "succeeded", 5, 5)]
    )
    assert attention_markdown(clean, []) is None
    wb = StreamInfo("contacts", "t", "succeeded", 5, 5, writeback={"accepted": 3, "rejected": 2})
    note = attention_markdown(RunInfo("r2", "crm_out", "succeeded", False, 1.0, "hubspot", [wb]), [])
    assert note is not None and "2 rejected" in note and "crossdock results r2 --rejected" in note
