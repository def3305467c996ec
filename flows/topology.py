"""The production topology of docker-compose.yml, from processes on this machine:
PostgreSQL databases for Prefect, the hub store and the warehouse; a `prefect server`;
N `prefect worker` processes of the work pool.

    python -m flows.topology up [--workers 2] [--port 4200] [--name crossdock]
    python -m flows.topology env        # the exports for crossdock deploy / sync / reconcile
    python -m flows.topology status     # exit 1 when a process is down
    python -m flows.topology down [--purge]

`up` creates what is missing (databases, work pool) and starts what is not running, so a
second `up` restarts a worker that died. Its settings are saved in the state folder
(`topology.json`, beside the pid files and logs) at the first `up`; `down --purge` drops the
databases and forgets them. docs/operations.md says how to spread it over N machines.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from hub.processes import log_tail, pid_alive, start_logged, stop_tree, wait_for_http, wait_until

__all__ = ["Topology", "up", "down", "status", "server_command", "worker_command", "DATABASES"]

BIN = Path(sys.executable).parent
# Database role -> the suffix of its name; Prefect's tables and the hub's never share one.
DATABASES = {"prefect": "prefect", "store": "store", "warehouse": "warehouse"}
# Settings the topology owns; any other PREFECT_* of the caller passes on to its processes.
_OWNED = ("PREFECT_API_URL", "PREFECT_HOME", "PREFECT_API_DATABASE_CONNECTION_URL", "CROSSDOCK_STORE_URL")


@dataclass(frozen=True)
class Topology:
    """What `up` decided once, saved as `topology.json` in the state folder."""

    state_dir: str
    workspace: str
    name: str
    postgres: str  # the server, e.g. postgresql://postgres@127.0.0.1:5432
    port: int
    pool: str
    workers: int
    limit: int | None  # flow runs at a time per worker (None: no limit)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def database_url(self, role: str) -> str:
        return f"{self.postgres.rstrip('/')}/{self.name}_{DATABASES[role]}"

    def client_env(self) -> dict[str, str]:
        """What `crossdock` needs to use this topology: the API, the store, the warehouse."""
        return {
            "PREFECT_API_URL": self.api_url,
            "CROSSDOCK_STORE_URL": self.database_url("store"),
            "CROSSDOCK_WAREHOUSE_URL": self.database_url("warehouse"),
        }

    def process_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _OWNED}
        env.update(self.client_env())
        env["PREFECT_HOME"] = str(Path(self.state_dir) / "prefect")
        env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"  # hub/no_call_home.py
        return env

    def server_env(self) -> dict[str, str]:
        url = self.database_url("prefect").replace("postgresql://", "postgresql+asyncpg://", 1)
        return {**self.process_env(), "PREFECT_API_DATABASE_CONNECTION_URL": url}

    def file(self, name: str) -> Path:
        return Path(self.state_dir) / name

    def worker_names(self) -> list[str]:
        return [f"{self.name}-worker-{i}" for i in range(1, self.workers + 1)]

    @classmethod
    def load(cls, state_dir: Path) -> Topology:
        path = state_dir / "topology.json"
        try:
            return cls(**json.loads(path.read_text()))
        except FileNotFoundError:
            raise SystemExit(f"no topology in {state_dir}: run `python -m flows.topology up` first") from None


def server_command(port: int) -> list[str]:
    return [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)]


def worker_command(pool: str, name: str | None = None, limit: int | None = None) -> list[str]:
    args = [str(BIN / "prefect"), "worker", "start", "--pool", pool, "--type", "process"]
    return args + (["--name", name] if name else []) + (["--limit", str(limit)] if limit else [])


def _create_databases(topo: Topology) -> list[str]:
    """Create the topology's databases that are missing; their names."""
    created = []
    with psycopg.connect(f"{topo.postgres.rstrip('/')}/postgres", autocommit=True, connect_timeout=10) as pg:
        for role in DATABASES:
            db = topo.database_url(role).rpartition("/")[2]
            if not pg.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,)).fetchone():
                pg.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db)))
                created.append(db)
    return created


def _drop_databases(topo: Topology) -> None:
    with psycopg.connect(f"{topo.postgres.rstrip('/')}/postgres", autocommit=True, connect_timeout=10) as pg:
        for role in DATABASES:
            db = topo.database_url(role).rpartition("/")[2]
            pg.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db)))


def _running(topo: Topology, process: str) -> int | None:
    """The pid of `process` (server, or a worker's name) if its pid file names a live one."""
    try:
        pid = int(topo.file(f"{process}.pid").read_text())
    except (FileNotFoundError, ValueError):
        return None
    return pid if pid_alive(pid) else None


def _start(topo: Topology, process: str, args: list[str], env: dict[str, str]) -> int:
    proc = start_logged(args, env, topo.file(f"{process}.log"), cwd=Path(topo.workspace))
    topo.file(f"{process}.pid").write_text(str(proc.pid))
    return proc.pid


def _registered_workers(topo: Topology) -> set[str]:
    response = httpx.post(f"{topo.api_url}/work_pools/{topo.pool}/workers/filter", json={}, timeout=30)
    if response.status_code == 404:  # the pool is made by `up` before the workers start
        return set()
    response.raise_for_status()
    return {w["name"] for w in response.json() if w.get("status") == "ONLINE"}


def _ensure_pool(topo: Topology) -> None:
    """The `process` pool, as `crossdock deploy` makes it (flows/deployments.py
    `ensure_work_pool`), by one API call: importing the flows costs seconds here."""
    response = httpx.post(
        f"{topo.api_url}/work_pools/", json={"name": topo.pool, "type": "process"}, timeout=30
    )
    if response.status_code != 409:  # 409: it exists
        response.raise_for_status()


def up(topo: Topology, timeout: float = 300.0) -> None:
    """Start what is not running, each once its dependency answers."""
    Path(topo.state_dir).mkdir(parents=True, exist_ok=True)
    topo.file("topology.json").write_text(json.dumps(asdict(topo), indent=2) + "\n")
    for db in _create_databases(topo):
        print(f"created database {db}")
    if (pid := _running(topo, "server")) is None:
        pid = _start(topo, "server", server_command(topo.port), topo.server_env())
        print(f"started prefect server (pid {pid}), log {topo.file('server.log')}")
    wait_for_http(f"{topo.api_url}/health", pid, topo.file("server.log"), timeout)
    _ensure_pool(topo)  # before the workers: two of them must not race to create it
    started = []
    for name in topo.worker_names():
        if _running(topo, name) is None:
            started.append(name)
            pid = _start(topo, name, worker_command(topo.pool, name, topo.limit), topo.process_env())
            print(f"started worker {name} (pid {pid}), log {topo.file(f'{name}.log')}")

    def online() -> bool:
        for name in started:
            if _running(topo, name) is None:
                raise RuntimeError(f"worker {name} exited; its log:\n{log_tail(topo.file(f'{name}.log'))}")
        return set(started) <= _registered_workers(topo)

    wait_until(f"workers {', '.join(started)} to poll pool `{topo.pool}`", online, timeout, every=2.0)
    print(f"up: UI http://127.0.0.1:{topo.port}, pool `{topo.pool}` with {topo.workers} worker(s)")


def down(topo: Topology, purge: bool = False) -> None:
    """Stop the workers (their flow runs with them), then the server; `purge`: drop the
    databases and the saved settings too."""
    for group in (topo.worker_names(), ["server"]):  # the workers first: they report to it
        running = {process: pid for process in group if (pid := _running(topo, process)) is not None}
        stop_tree(*running.values())
        for process in group:
            if process in running:
                print(f"stopped {process} (pid {running[process]})")
            topo.file(f"{process}.pid").unlink(missing_ok=True)
    if purge:
        _drop_databases(topo)
        topo.file("topology.json").unlink()
        print(f"dropped databases {', '.join(topo.database_url(r).rpartition('/')[2] for r in DATABASES)}")


def status(topo: Topology) -> bool:
    """Print each process's state; True when all of them run."""
    fine = True
    for process in ["server", *topo.worker_names()]:
        pid = _running(topo, process)
        fine &= pid is not None
        state = f"running, pid {pid}" if pid else "DOWN"
        print(f"{process:<24} {state}  log {topo.file(process + '.log')}")
    return fine


def _print_env(topo: Topology) -> None:
    for key, value in topo.client_env().items():
        print(f"export {key}={shlex.quote(value)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flows.topology", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["up", "down", "status", "env"])
    parser.add_argument("--workspace", type=Path, default=Path("."), help="folder of crossdock.yaml")
    parser.add_argument(
        "--state-dir", type=Path, help="pid files and logs (default WORKSPACE/.crossdock/topology)"
    )
    parser.add_argument("--name", default="crossdock", help="prefix of the database names and worker names")
    parser.add_argument(
        "--postgres", default="postgresql://postgres@127.0.0.1:5432", help="PostgreSQL server URL"
    )
    parser.add_argument("--port", type=int, default=4200, help="the Prefect server's port")
    parser.add_argument("--pool", default="crossdock", help="the work pool the workers poll")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--limit", type=int, help="flow runs at a time per worker (default: no limit)")
    parser.add_argument("--purge", action="store_true", help="down: drop the databases too")
    args = parser.parse_args(argv)
    if make_url(args.postgres).password:
        parser.error(
            "--postgres must not hold a password (it is saved in topology.json and printed by "
            "`env`): put it in PGPASSWORD or ~/.pgpass, which every process of the topology reads"
        )
    workspace = args.workspace.resolve()
    state_dir = (args.state_dir or workspace / ".crossdock" / "topology").resolve()
    if args.command == "up" and not (state_dir / "topology.json").exists():
        topo = Topology(
            str(state_dir),
            str(workspace),
            args.name,
            args.postgres,
            args.port,
            args.pool,
            args.workers,
            args.limit,
        )
    else:  # settings are those of the first `up`; `down --purge` to change them
        topo = Topology.load(state_dir)
    try:
        if args.command == "up":
            up(topo)
            _print_env(topo)
        elif args.command == "down":
            down(topo, args.purge)
        elif args.command == "env":
            _print_env(topo)
        else:
            return 0 if status(topo) else 1
    except psycopg.OperationalError as exc:
        why = (str(exc).strip().splitlines() or ["no answer"])[0]
        print(f"topology: PostgreSQL at {topo.postgres}: {why}; start it or pass --postgres", file=sys.stderr)
        return 1
    except (TimeoutError, RuntimeError, httpx.HTTPError) as exc:  # the message names the log
        print(f"topology {args.command}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
