"""The production topology from processes (flows/topology.py): a `prefect server` on
PostgreSQL, two `prefect worker` processes of the pool, the store and the warehouse in
PostgreSQL databases of their own. `crossdock deploy` registers the workspace,
three connections run at once, both workers take runs, and every table ends equal to its source
(`crossdock reconcile`: zero differences). A worker killed (with its flow runs, as when its
machine dies) in the middle of a stream leaves a run that the next attempt takes over and
resumes from the stream's checkpoint. Only the sandbox runs in this process."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import yaml

from flows.topology import Topology, status
from hub.processes import descendants, log_tail, pid_alive, signal_tree, wait_until
from hub.sandbox import Sandbox

WAIT = 600.0  # seconds for any one condition: generous, the machine is shared
CONNECTIONS = ("crm", "support", "email")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _clean_env() -> dict[str, str]:
    """This process's environment without Prefect or hub settings (other tests set some)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "CROSSDOCK_"))}


def _script(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flows.topology", *args], env=env, capture_output=True, text=True, timeout=900
    )


@pytest.fixture
def topology(tmp_path: Path) -> Iterator[Topology]:
    """`python -m flows.topology up` with two workers of at most two runs each; `down --purge`
    afterwards (the processes, then the databases)."""
    env = _clean_env()
    env["PREFECT_WORKER_QUERY_SECONDS"] = "2"  # passed on to the workers: they poll often
    env["PREFECT_LOGGING_LEVEL"] = "INFO"  # the workers log each flow run they submit
    workspace, state = tmp_path / "ws", tmp_path / "topology"
    workspace.mkdir()
    where = ["--workspace", str(workspace), "--state-dir", str(state)]
    name = f"topo_{uuid.uuid4().hex[:8]}"
    started = _script(["up", *where, "--name", name, "--port", str(_free_port()), "--limit", "2"], env)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        assert "2 worker(s)" in started.stdout
        yield Topology.load(state)
    finally:
        stopped = _script(["down", *where, "--purge"], env)
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr


class Gate:
    """Holds the sandbox's answers under `prefix` from the `page`-th on until released: a
    read stopped in the middle of a stream, with the pages before it committed. Every later
    page holds too, so a client's retry after a timeout is held as well."""

    def __init__(self, sb: Sandbox, prefix: str, page: int) -> None:
        self.reached, self.released = threading.Event(), threading.Event()
        for n in range(page, page + 50):
            sb.hooks.after(prefix, n, self._hold)

    def _hold(self, _response: Any) -> None:
        self.reached.set()
        self.released.wait(WAIT)


def _workspace(sb: Sandbox) -> dict[str, Any]:
    def connection(connector: str, config: dict[str, Any], streams: list[str]) -> dict[str, Any]:
        return {
            "source": {"connector": connector, "config": {"start_date": "2020-01-01T00:00:00Z", **config}},
            "destination": {"type": "sql", "config": {"url": "${env:CROSSDOCK_WAREHOUSE_URL}"}},
            "streams": {s: {"mapping": f"{connector}/{s}"} for s in streams},
        }

    token = "sandbox-token"
    zendesk = {"credentials": "api_token", "email": "agent@example.com", "api_token": token}
    return {
        "version": 1,
        "connections": {
            "crm": connection(
                "hubspot", {"base_url": sb.url, "access_token": token}, ["contacts", "companies"]
            ),
            "support": connection(
                "zendesk", {"base_url": sb.url, "credentials": zendesk}, ["users", "organizations"]
            ),
            "email": connection(
                "mailchimp",
                {"base_url": f"{sb.url}/3.0", "credentials": {"auth_type": "apikey", "apikey": token}},
                ["list_members"],
            ),
        },
    }


def _crossdock(topo: Topology, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "--workspace", topo.workspace, *args],
        env={**_clean_env(), **topo.client_env()},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _run_deployment(topo: Topology, connection: str) -> str:
    """A flow run of the connection's deployment, as the UI's Run button makes it."""
    found = httpx.get(f"{topo.api_url}/deployments/name/sync-connection/sync-{connection}", timeout=30)
    found.raise_for_status()
    created = httpx.post(
        f"{topo.api_url}/deployments/{found.json()['id']}/create_flow_run", json={}, timeout=30
    )
    created.raise_for_status()
    return str(created.json()["id"])


def _state(topo: Topology, flow_run: str) -> str:
    response = httpx.get(f"{topo.api_url}/flow_runs/{flow_run}", timeout=30)
    response.raise_for_status()
    return str(response.json()["state_type"])


def _logs(topo: Topology) -> str:
    return "\n".join(f"--- {n}:\n{log_tail(topo.file(f'{n}.log'))}" for n in topo.worker_names())


def _completed(topo: Topology, flow_runs: list[str]) -> bool:
    states = [_state(topo, r) for r in flow_runs]
    assert not {"FAILED", "CRASHED", "CANCELLED"} & set(states), f"{states}\n{_logs(topo)}"
    return all(s == "COMPLETED" for s in states)


def _submitted_by(topo: Topology) -> dict[str, str]:
    """flow run id -> the worker that submitted it, from the workers' own logs (a worker that
    lost the race for a run to the other logs its submission as aborted)."""
    found = {}
    for worker in topo.worker_names():
        text = topo.file(f"{worker}.log").read_text(errors="replace")
        aborted = set(re.findall(r"Aborted submission of flow run '([0-9a-f-]+)'", text))
        for flow_run in set(re.findall(r"submitting flow run '([0-9a-f-]+)'", text)) - aborted:
            assert flow_run not in found, f"flow run {flow_run} submitted by two workers"
            found[flow_run] = worker
    return found


def _store(topo: Topology, query: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(topo.database_url("store"), autocommit=True) as db:
        return db.execute(query, params).fetchall()


# A server start on PostgreSQL, a deploy and a dozen flow-run processes: minutes when busy.
@pytest.mark.prefect
@pytest.mark.postgres
@pytest.mark.timeout(1500)
def test_two_workers_run_the_connections_and_a_killed_run_resumes(topology: Topology) -> None:
    topo = topology
    with Sandbox(seed=3, scale=60, port=0) as sb:
        Path(topo.workspace, "crossdock.yaml").write_text(yaml.safe_dump(_workspace(sb)))
        deploy = _crossdock(topo, "deploy")
        out, err = deploy.communicate(timeout=600)
        assert deploy.returncode == 0, out + err
        assert f"in work pool `{topo.pool}`" in out

        # The email connection's members are read list by list, with a state after each: the
        # second list is held, so its run is in the middle of the stream, the first list
        # checkpointed, when the worker holding it dies.
        second_list = sb.mailchimp.lists[1]["id"]
        gate = Gate(sb, f"/3.0/lists/{second_list}/members", page=1)
        runs = {c: _run_deployment(topo, c) for c in CONNECTIONS}
        others = [runs[c] for c in CONNECTIONS if c != "email"]

        def email_checkpointed() -> bool:
            saved = _store(
                topo,
                "SELECT s.run_id FROM stream_state s JOIN sync_runs r ON r.id = s.run_id "
                "WHERE s.connection = 'email' AND s.stream = 'list_members' AND r.status = 'running'",
            )
            return gate.reached.is_set() and bool(saved)

        wait_until("the other runs to complete", lambda: _completed(topo, others), WAIT, every=3)
        wait_until("a checkpoint of the held members stream", email_checkpointed, WAIT, every=1)

        taken = _submitted_by(topo)
        assert {taken.get(r) for r in runs.values()} == set(topo.worker_names()), taken

        # Kill the worker holding the email run, and its flow runs: a machine that died.
        [(killed_run, pid)] = _store(topo, "SELECT run_id, pid FROM run_leases WHERE connection = 'email'")
        worker = taken[runs["email"]]
        worker_pid = int(topo.file(f"{worker}.pid").read_text())
        assert pid in descendants(worker_pid), f"the run's process {pid} is not below worker {worker}"
        signal_tree(worker_pid, signal.SIGKILL)
        wait_until("the worker and its run to die", lambda: not (pid_alive(worker_pid) or pid_alive(pid)), 60)
        assert not status(topo), "`status` must say a worker is down"
        gate.released.set()
        [(checkpoint,)] = _store(
            topo, "SELECT state FROM stream_state WHERE connection = 'email' AND stream = 'list_members'"
        )

        retry = _run_deployment(topo, "email")
        wait_until("the next email run to complete", lambda: _completed(topo, [retry]), WAIT, every=3)
        survivor = next(w for w in topo.worker_names() if w != worker)
        assert _submitted_by(topo)[retry] == survivor

        # Every connection equals its source, compared by the product's own reconcile; the
        # audit chain the concurrent runs wrote verifies.
        audit = _crossdock(topo, "audit", "verify")
        checks = {c: _crossdock(topo, "reconcile", c, "--json") for c in CONNECTIONS}
        out, err = audit.communicate(timeout=600)
        assert audit.returncode == 0, out + err
        for connection, check in checks.items():
            out, err = check.communicate(timeout=600)
            assert check.returncode == 0, f"{connection}: {out}{err}"
            report = json.loads(out)
            assert (report["status"], report["differences"]) == ("clean", 0), report

    # The dead run was taken over (abandoned) and the retry resumed from its checkpoint.
    statuses = dict(_store(topo, "SELECT id, status FROM sync_runs WHERE connection = 'email'"))
    assert statuses.pop(killed_run) == "abandoned"
    [(new_run, new_status)] = statuses.items()
    assert new_status == "succeeded"
    [(read,)] = _store(
        topo,
        "SELECT records_read FROM stream_runs WHERE run_id = %s AND stream = 'list_members'",
        new_run,
    )
    with psycopg.connect(topo.database_url("warehouse")) as warehouse:
        [(rows,)] = warehouse.execute("SELECT count(*) FROM email_list_members").fetchall()
    assert 0 < read < rows, f"the retry read {read} of {rows} members from checkpoint {checkpoint}"


def test_each_process_gets_the_topology_settings_and_the_callers_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFECT_API_URL", "http://elsewhere:4200/api")  # owned: replaced
    monkeypatch.setenv("CROSSDOCK_STORE_URL", "sqlite:///elsewhere.db")  # owned: replaced
    monkeypatch.setenv("PREFECT_WORKER_QUERY_SECONDS", "2")  # passed on
    topo = Topology(
        str(tmp_path), str(tmp_path), "ops", "postgresql://postgres@db:5432/", 4242, "crossdock", 2, None
    )
    server, worker = topo.server_env(), topo.process_env()
    assert (
        server["PREFECT_API_DATABASE_CONNECTION_URL"] == "postgresql+asyncpg://postgres@db:5432/ops_prefect"
    )
    assert "PREFECT_API_DATABASE_CONNECTION_URL" not in worker
    for env in (server, worker):
        assert env["PREFECT_API_URL"] == "http://127.0.0.1:4242/api"
        assert env["PREFECT_WORKER_QUERY_SECONDS"] == "2"
        assert env["PREFECT_HOME"] == str(tmp_path / "prefect")
    assert worker["CROSSDOCK_STORE_URL"] == "postgresql://postgres@db:5432/ops_store"
    assert worker["CROSSDOCK_WAREHOUSE_URL"] == "postgresql://postgres@db:5432/ops_warehouse"
    assert topo.worker_names() == ["ops-worker-1", "ops-worker-2"]
