"""One run per connection: a second sync refuses (or waits), and a killed run is abandoned."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from typing import Any

import pytest
from typer.testing import CliRunner

from hub.cli import app
from hub.store import runs as store_runs

pytestmark = pytest.mark.usefixtures("prefect_server")

CONTACTS = "/crm/v3/objects/contacts"
# The store is what holds the lock: SQLite and PostgreSQL (DuckDB is a destination only).
STORES = pytest.mark.parametrize(
    "hub", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


def _cli(hub, *args: str) -> subprocess.Popen[bytes]:  # type: ignore[no-untyped-def]
    from prefect.settings import PREFECT_API_URL

    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value())}
    return subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "--workspace", str(hub.ctx.workspace_dir), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _contacts_pages(hub) -> int:  # type: ignore[no-untyped-def]
    return hub.sandbox.hits.get((CONTACTS, 200), 0)


def _runs_json(hub) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(app, ["--workspace", str(hub.ctx.workspace_dir), "runs", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


@STORES
def test_second_sync_refuses_naming_the_holder_and_reads_nothing(hub) -> None:  # type: ignore[no-untyped-def]
    procs: list[subprocess.Popen[bytes]] = []

    def hold_first_page(_resp: Any) -> None:
        # The run that got the first contacts page waits here until the other sync has ended,
        # so the two overlap however the machine schedules them.
        deadline = time.monotonic() + 120
        while all(p.poll() is None for p in procs) and time.monotonic() < deadline:
            time.sleep(0.05)

    hub.sandbox.hooks.after(CONTACTS, 1, hold_first_page)
    # The store and key exist before the two start, as after any first run: two processes
    # creating a fresh PostgreSQL store's tables at once collide in CREATE TABLE (engine.py).
    assert hub.ctx.engine is not None and hub.ctx.keyring is not None
    procs.extend([_cli(hub, "sync", "crm", "--json"), _cli(hub, "sync", "crm", "--json")])
    outs = [p.communicate(timeout=300) for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 4], [
        (p.returncode, err.decode()[-6000:]) for p, (_, err) in zip(procs, outs, strict=True)
    ]
    winner = next(i for i, p in enumerate(procs) if p.returncode == 0)
    summary = json.loads(outs[winner][0])
    refusal = outs[1 - winner][1].decode()
    assert "busy" in refusal and summary["run_id"] in refusal, refusal
    assert f"pid {procs[winner].pid}" in refusal, refusal
    # the refused run was never recorded, and the stream's pages were served once
    assert [r["run_id"] for r in _runs_json(hub)] == [summary["run_id"]]
    once = _contacts_pages(hub)
    result = CliRunner().invoke(
        app, ["--workspace", str(hub.ctx.workspace_dir), "sync", "crm", "--full-refresh", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert once == _contacts_pages(hub) - once


@STORES
def test_killed_sync_is_taken_over_and_abandoned_by_the_next(hub) -> None:  # type: ignore[no-untyped-def]
    procs: list[subprocess.Popen[bytes]] = []
    # SIGKILL while the second contacts page is being served: mid-stream, no cleanup.
    hub.sandbox.hooks.after(CONTACTS, 2, lambda _resp: procs[0].send_signal(signal.SIGKILL))
    procs.append(_cli(hub, "sync", "crm"))
    _, err = procs[0].communicate(timeout=300)
    assert procs[0].returncode == -signal.SIGKILL, err.decode()[-2000:]
    [killed] = [r for r in store_runs.list_runs(hub.ctx.engine, 20, "crm") if r.status == "running"]

    result = CliRunner().invoke(app, ["--workspace", str(hub.ctx.workspace_dir), "sync", "crm", "--json"])
    assert result.exit_code == 0, result.output  # the dead holder's lock was taken over
    next_run = json.loads(result.stdout)["run_id"]

    by_id = {r["run_id"]: r for r in _runs_json(hub)}
    assert by_id[next_run]["status"] == "succeeded"
    assert by_id[killed.id]["status"] == "abandoned"
    assert f"pid {procs[0].pid}" in by_id[killed.id]["error"]
    assert next_run in by_id[killed.id]["error"]
    [entry] = list(hub.ctx.audit.entries(action="sync.abandoned"))
    assert entry["target"] == "crm"
    assert entry["details"]["run_id"] == killed.id
    assert entry["details"]["noticed_by"] == {"run_id": next_run}
    assert entry["details"]["pid"] == procs[0].pid
    hub.assert_destination_equals_source()


@STORES
def test_flow_run_by_a_worker_takes_the_lease_itself(hub) -> None:  # type: ignore[no-untyped-def]
    # A deployment's flow run has no CLI around it: the flow must refuse on its own, and
    # record nothing, while another run (here one on another host) holds the connection.
    from flows.sync import sync_connection
    from hub.store import locks

    lease = locks.acquire(hub.ctx.engine, "crm", "run-elsewhere")
    try:
        with pytest.raises(locks.ConnectionBusyError, match="run run-elsewhere"):
            sync_connection("crm", workspace_dir=str(hub.ctx.workspace_dir)).to_dict()
    finally:
        lease.release()
    assert store_runs.list_runs(hub.ctx.engine) == []
    assert _contacts_pages(hub) == 0
    summary = sync_connection("crm", workspace_dir=str(hub.ctx.workspace_dir)).to_dict()
    assert summary["status"] == "succeeded"
