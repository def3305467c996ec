"""The per-connection lease on SQLite and PostgreSQL: refuse, wait, take over the dead, and
mark abandoned the runs whose holder is gone (no sandbox, no Prefect)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import insert
from typer.testing import CliRunner

from hub.cli import app
from hub.context import HubContext
from hub.pipeline.run import claim_connection
from hub.store import locks
from hub.store import runs as store_runs
from hub.store.models import RunLease


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def ctx(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> HubContext:
    if request.param == "postgres":
        monkeypatch.setenv("CROSSDOCK_STORE_URL", request.getfixturevalue("pg_schema_url"))
    else:
        monkeypatch.delenv("CROSSDOCK_STORE_URL", raising=False)
    (tmp_path / "crossdock.yaml").write_text("version: 1\nconnections: {}\n")
    return HubContext(tmp_path)


def _plant(ctx: HubContext, connection: str, run_id: str, *, host: str, pid: int, age: float) -> None:
    """A lease row as another process would have left it, its heartbeat `age` seconds old."""
    beat = time.time() - age
    with ctx.engine.begin() as conn:
        conn.execute(
            insert(RunLease),
            [dict(connection=connection, run_id=run_id, host=host, pid=pid, since=beat - 60, heartbeat=beat)],
        )


def _dead_pid() -> int:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    return int(done.stdout)


def test_second_holder_is_refused_with_the_holder_named(ctx: HubContext) -> None:
    with claim_connection(ctx, "crm", "run-1"):
        with pytest.raises(locks.ConnectionBusyError) as refused:
            with claim_connection(ctx, "crm", "run-2"):
                pass
        # another connection is not held
        with claim_connection(ctx, "support", "run-3"):
            pass
    message = str(refused.value)
    assert "`crm` is busy" in message and "run run-1" in message
    assert f"pid {os.getpid()}" in message and f"host {locks.HOST}" in message
    assert "--wait" in message
    with claim_connection(ctx, "crm", "run-2"):  # released at the end of the block
        pass


def test_released_even_when_the_run_fails(ctx: HubContext) -> None:
    with pytest.raises(RuntimeError), claim_connection(ctx, "crm", "run-1"):
        raise RuntimeError("boom")
    with claim_connection(ctx, "crm", "run-2"):
        pass


def test_wait_takes_the_lease_once_the_holder_ends(ctx: HubContext) -> None:
    first = locks.acquire(ctx.engine, "crm", "run-1")
    releaser = threading.Timer(0.5, first.release)
    releaser.start()
    try:
        second = locks.acquire(ctx.engine, "crm", "run-2", wait=60, poll=0.1)
    finally:
        releaser.join()
    second.release()


def test_wait_timeout_ends_refused(ctx: HubContext) -> None:
    _plant(ctx, "crm", "run-1", host="elsewhere", pid=1, age=0)
    with pytest.raises(locks.ConnectionBusyError, match="after waiting"):
        locks.acquire(ctx.engine, "crm", "run-2", wait=0.3, poll=0.1)


def test_dead_pid_on_this_host_is_taken_over_at_once(ctx: HubContext) -> None:
    pid = _dead_pid()
    _plant(ctx, "crm", "run-1", host=locks.HOST, pid=pid, age=0)
    lease = locks.acquire(ctx.engine, "crm", "run-2")
    try:
        assert lease.previous is not None and lease.previous.pid == pid
    finally:
        lease.release()


def test_silent_holder_elsewhere_is_taken_over_only_after_the_lease_expires(ctx: HubContext) -> None:
    _plant(ctx, "crm", "run-1", host="elsewhere", pid=os.getpid(), age=locks.LEASE_SECONDS / 2)
    with pytest.raises(locks.ConnectionBusyError, match="host elsewhere"):
        locks.acquire(ctx.engine, "crm", "run-2")
    _plant(ctx, "support", "run-3", host="elsewhere", pid=os.getpid(), age=locks.LEASE_SECONDS + 1)
    lease = locks.acquire(ctx.engine, "support", "run-4")
    assert lease.previous is not None and lease.previous.run_id == "run-3"
    lease.release()


def test_heartbeat_keeps_the_lease_fresh(ctx: HubContext) -> None:
    lease = locks.acquire(ctx.engine, "crm", "run-1")
    try:
        before = locks.live_holders(ctx.engine)["crm"].heartbeat
        assert lease.renew()
        assert locks.live_holders(ctx.engine)["crm"].heartbeat > before
    finally:
        lease.release()
    assert not lease.renew()  # released: nothing left to renew


def test_runs_marks_a_run_abandoned_when_its_holder_timed_out(ctx: HubContext) -> None:
    store_runs.start_run(ctx.engine, "run-dead", "crm", False)
    _plant(ctx, "crm", "run-dead", host="elsewhere", pid=1, age=locks.LEASE_SECONDS + 1)
    store_runs.start_run(ctx.engine, "run-alive", "support", False)
    _plant(ctx, "support", "run-alive", host="elsewhere", pid=1, age=0)

    result = CliRunner().invoke(app, ["--workspace", str(ctx.workspace_dir), "runs", "--json"])
    assert result.exit_code == 0, result.output
    status = {r["run_id"]: (r["status"], r["error"]) for r in json.loads(result.stdout)}
    assert status["run-dead"][0] == "abandoned" and "noticed by crossdock runs" in status["run-dead"][1]
    assert status["run-alive"] == ("running", None)
    entries = ctx.audit.entries(action="sync.abandoned")
    assert [(e["target"], e["details"]["run_id"]) for e in entries] == [("crm", "run-dead")]

    shown = CliRunner().invoke(app, ["--workspace", str(ctx.workspace_dir), "runs"])
    assert "abandoned" in shown.output
