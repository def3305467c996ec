"""The schedule really fires: `crossdock deploy` registers a connection on a real
`prefect server` process, the server's scheduler creates a run from its cron, a real
`prefect worker` process of the work pool picks it up, and the sync completes against the
sandbox over HTTP. Nothing here is called in-process but the sandbox."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from flows.topology import server_command, worker_command
from hub.processes import start_logged, stop_tree, wait_for_http
from hub.sandbox import Sandbox

# A server start, a minute boundary and a worker's run: minutes on a busy 2-core machine.
pytestmark = [pytest.mark.prefect, pytest.mark.timeout(900)]

POOL = "crossdock-schedule-test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stop(proc: subprocess.Popen[bytes]) -> None:
    stop_tree(proc.pid)  # the worker and the flow runs it started
    proc.wait(10)


@pytest.fixture
def prefect_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A `prefect server start` process of its own (SQLite, its scheduler every 5 s)."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        {
            "PREFECT_HOME": str(tmp_path / "prefect"),
            "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "5",
            "PREFECT_WORKER_QUERY_SECONDS": "3",
            "PREFECT_LOGGING_LEVEL": "INFO",
        }
    )
    server = start_logged(server_command(port), env, tmp_path / "server.log")
    try:
        wait_for_http(f"{env['PREFECT_API_URL']}/health", server.pid, tmp_path / "server.log", 240)
        yield env
    finally:
        _stop(server)


def _runs(env: dict[str, str], deployment_id: str) -> list[dict[str, Any]]:
    # Oldest first: the cron fills the next 100 minutes with SCHEDULED runs, and the ones that
    # already fired (the ones this test waits for) must not fall outside the page.
    body = {"limit": 20, "sort": "EXPECTED_START_TIME_ASC", "deployments": {"id": {"any_": [deployment_id]}}}
    response = httpx.post(f"{env['PREFECT_API_URL']}/flow_runs/filter", json=body, timeout=30)
    response.raise_for_status()
    return list(response.json())


def test_a_cron_schedule_fires_and_a_worker_completes_the_sync(
    prefect_env: dict[str, str], tmp_path: Path
) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    with Sandbox(seed=3, scale=40, port=0) as sb:
        (workspace / "crossdock.yaml").write_text(
            yaml.safe_dump(
                {
                    "version": 1,
                    "orchestration": {"work_pool": POOL},
                    "connections": {
                        "crm": {
                            "source": {
                                "connector": "hubspot",
                                "config": {
                                    "base_url": sb.url,
                                    "access_token": "sandbox-token",
                                    "start_date": "2020-01-01T00:00:00Z",
                                },
                            },
                            "destination": {"type": "sql", "config": {"url": "sqlite:///warehouse.db"}},
                            "streams": {"contacts": {"mapping": "hubspot/contacts"}},
                            "schedule": "* * * * *",  # every minute: the next one is at most 60 s away
                        }
                    },
                }
            )
        )

        deploy = subprocess.run(
            [sys.executable, "-m", "hub.cli", "--workspace", str(workspace), "deploy"],
            env=prefect_env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert deploy.returncode == 0, deploy.stderr
        assert "registered sync-connection/sync-crm on cron `* * * * *`" in deploy.stdout
        # the sync and its daily reconcile (hub/reconcile); only the sync fires in this test
        assert f"2 deployment(s) in work pool `{POOL}`" in deploy.stdout

        api = prefect_env["PREFECT_API_URL"]
        found = httpx.get(f"{api}/deployments/name/sync-connection/sync-crm", timeout=30).json()
        assert found["work_pool_name"] == POOL

        # The server's scheduler, not this test, creates the run.
        deadline = time.monotonic() + 60
        while not _runs(prefect_env, found["id"]):
            assert time.monotonic() < deadline, "the scheduler created no run in 60 s"
            time.sleep(3)
        scheduled = _runs(prefect_env, found["id"])
        assert all(r["auto_scheduled"] for r in scheduled)

        worker = start_logged(worker_command(POOL, limit=1), prefect_env, tmp_path / "worker.log")
        try:
            deadline = time.monotonic() + 480
            while True:
                runs = _runs(prefect_env, found["id"])
                done = [r for r in runs if r["state_type"] == "COMPLETED"]
                if done:
                    break
                crashed = [r for r in runs if r["state_type"] in ("FAILED", "CRASHED", "CANCELLED")]
                assert not crashed, (tmp_path / "worker.log").read_text()[-4000:]
                assert time.monotonic() < deadline, (
                    f"no scheduled run completed in 480 s: {[r['state_type'] for r in runs]}\n"
                    + (tmp_path / "worker.log").read_text()[-4000:]
                )
                time.sleep(3)
        finally:
            _stop(worker)

        assert done[0]["auto_scheduled"] and done[0]["work_pool_name"] == POOL
        assert "submitted to infrastructure" in (tmp_path / "worker.log").read_text()
        # The worker's run did the sync: the hub recorded it and the warehouse holds the CRM.
        with sqlite3.connect(workspace / ".crossdock" / "hub.db") as store:
            statuses = [s for (s,) in store.execute("SELECT status FROM sync_runs WHERE connection = 'crm'")]
        assert "succeeded" in statuses
        with sqlite3.connect(workspace / "warehouse.db") as warehouse:
            (count,) = warehouse.execute("SELECT count(*) FROM crm_contacts").fetchone()
        assert count == len(sb.hubspot.objects("contacts"))
