"""Streams of one connection run at the same time (max_parallel_streams), each with its own
checkpoint; one failing does not stop the others. `--streams` and `--since` pick what a run
reads."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from flows.sync import sync_connection
from hub.cli import app
from hub.context import bound
from hub.pipeline import StreamInfo
from hub.store import runs

pytestmark = pytest.mark.usefixtures("prefect_server")

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
runner = CliRunner()


@pytest.fixture(autouse=True)
def _two_streams_at_a_time(hub: Any) -> None:
    """The default is one stream after another; these tests run two at a time."""
    path = hub.ctx.workspace_file
    workspace = yaml.safe_load(path.read_text())
    for conn in workspace["connections"].values():
        conn["max_parallel_streams"] = 2
    path.write_text(yaml.safe_dump(workspace, sort_keys=False))


def invoke(hub: Any, *args: str) -> Any:
    return runner.invoke(app, ["--workspace", str(hub.ctx.workspace_dir), *args])


@pytest.mark.parametrize("hub", BACKENDS, indirect=True)
def test_streams_overlap_and_the_bound_progress_callback_fires_from_each(hub: Any) -> None:
    """The first batch of `users` waits for the first batch of `organizations` and the other
    way round: one stream after another, the barrier breaks and both streams fail. The
    callback travels on the bound context, as the CLI's progress bar does."""
    barrier = threading.Barrier(2, timeout=60)
    seen: dict[str, set[int]] = {}
    lock = threading.Lock()

    def progress(info: StreamInfo) -> None:
        with lock:
            first = info.stream not in seen
            seen.setdefault(info.stream, set()).add(threading.get_ident())
        if first and info.stream in ("users", "organizations"):
            barrier.wait()

    with bound(replace(hub.ctx, progress=progress)) as ctx:
        info = sync_connection("support", workspace_dir=str(ctx.workspace_dir))
    assert info.status == "succeeded", info.to_dict()
    assert {"users", "organizations"} <= set(seen), seen
    assert seen["users"].isdisjoint(seen["organizations"]), "the two streams shared a thread"
    _, rows = runs.get_run(hub.ctx.engine, info.run_id) or (None, [])
    by_stream = {r.stream: r for r in rows}
    users, orgs = by_stream["users"], by_stream["organizations"]
    assert users.started_at < orgs.ended_at and orgs.started_at < users.ended_at  # overlapped


@pytest.mark.parametrize("hub", BACKENDS, indirect=True)
def test_a_failing_stream_does_not_stop_the_others_running_beside_it(hub: Any) -> None:
    with hub.sandbox.faults.planted(path_prefix="/api/v2/incremental/organizations", kind="500", times=None):
        info = sync_connection("support", workspace_dir=str(hub.ctx.workspace_dir)).to_dict()
    assert info["status"] == "partial", info
    statuses = {name: s["status"] for name, s in info["streams"].items()}
    assert statuses == {
        "users": "succeeded",
        "organizations": "failed",
        "tickets": "succeeded",
        "satisfaction_ratings": "succeeded",
    }
    for stream in ("users", "tickets"):  # each kept its own checkpoint
        assert runs.load_state(hub.ctx.engine, "support", stream) is not None
    assert len(hub.rows("support_users")) == info["streams"]["users"]["written"] > 0


@pytest.mark.parametrize("hub", ["sqlite"], indirect=True)
def test_sync_only_the_named_streams(hub: Any) -> None:
    result = invoke(hub, "sync", "support", "--streams", "tickets,users", "--json")
    assert result.exit_code == 0, result.output
    assert set(json.loads(result.stdout)["streams"]) == {"users", "tickets"}


@pytest.mark.parametrize("hub", ["sqlite"], indirect=True)
def test_an_unknown_stream_is_a_config_error_listing_the_streams(hub: Any) -> None:
    result = invoke(hub, "sync", "support", "--streams", "users,tickts")
    assert result.exit_code == 2, result.output
    assert "`tickts`" in result.output
    assert "users, organizations, tickets, satisfaction_ratings" in result.output
    assert runs.list_runs(hub.ctx.engine) == []  # refused before any run was recorded


@pytest.mark.parametrize("hub", ["sqlite"], indirect=True)
def test_since_reads_again_from_the_date_then_the_cursor_moves_on(hub: Any) -> None:
    first = json.loads(invoke(hub, "sync", "support", "--streams", "users", "--json").stdout)
    total = first["streams"]["users"]["read"]
    assert total > 0
    again = json.loads(invoke(hub, "sync", "support", "--streams", "users", "--json").stdout)
    assert again["streams"]["users"]["read"] < total  # incremental: the cursor holds
    result = invoke(hub, "sync", "support", "--streams", "users", "--since", "2020-01-01", "--json")
    assert result.exit_code == 0, result.output
    backfill = json.loads(result.stdout)["streams"]["users"]
    assert backfill["read"] == total
    assert backfill["state"] == first["streams"]["users"]["state"]  # back to the newest record


@pytest.mark.parametrize("hub", ["sqlite"], indirect=True)
def test_since_is_refused_before_the_run_for_a_stream_without_a_cursor(hub: Any) -> None:
    result = invoke(hub, "sync", "support", "--streams", "users", "--since", "2024-01-01")
    assert result.exit_code == 2, result.output
    assert "`users` has no saved cursor yet" in result.output
    assert runs.list_runs(hub.ctx.engine) == []
