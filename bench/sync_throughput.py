"""Sync throughput: N HubSpot contacts from the sandbox into SQLite through the real pipeline.

Prints records/s and peak memory for the pipeline (connector -> mapping -> SQL,
checkpointed, run through the Prefect flow) beside two measured in the same run:
airbyte-cdk's own read of the same stream with the same manifest (the connector
alone, records dropped), and a raw baseline: the same pages fetched with httpx,
parsed with orjson and inserted with one executemany. Each part runs in its own process so peak RSS
is its own; the sandbox runs in a third process so it does not share the GIL.

    python bench/sync_throughput.py [--contacts 100000] [--seed 42]

With `--streams N` (2-4) it measures a connection of N streams of equal size instead:
the HubSpot manifest with its `contacts` stream copied N times (contacts_1 ... contacts_N,
each to its own table), synced one after another (max_parallel_streams: 1) and then
concurrently (max_parallel_streams: --parallel, default 2); records/s over the whole
run's wall time, Prefect's start-up excluded (a no-op flow starts it before the clock).

    python bench/sync_throughput.py --streams 4 --contacts 20000 \
        [--warehouse postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import socket
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson

ROOT = Path(__file__).resolve().parents[1]

WORKSPACE = """\
version: 1
connections:
  bench:
    source:
      connector: hubspot
      config: {{base_url: "{url}", access_token: sandbox-token, start_date: "2020-01-01T00:00:00Z"}}
    destination:
      type: sql
      config: {{url: "sqlite:///{db}"}}
    max_parallel_streams: {parallel}
    streams:
{streams}
"""

STREAMS = 4  # the most --streams takes

MANY = """\
version: 1
connections:
  bench:
    source:
      manifest: {manifest}
      config: {{base_url: "{url}", access_token: sandbox-token, start_date: "2020-01-01T00:00:00Z"}}
    destination:
      type: sql
      config: {{url: "{warehouse}"}}
    max_parallel_streams: {parallel}
    streams:
{streams}
"""


def _manifest(workdir: Path, n: int) -> Path:
    """The HubSpot manifest whose `contacts` stream is copied n times, beside its components."""
    import shutil

    import yaml

    source = ROOT / "connectors" / "hubspot"
    manifest = yaml.safe_load((source / "manifest.yaml").read_text())
    contacts = next(s for s in manifest["streams"] if s["name"] == "contacts")
    copies = []
    for i in range(1, n + 1):
        copy = json.loads(json.dumps(contacts))
        copy["name"] = copy["full_refresh_stream"]["name"] = copy["incremental_stream"]["name"] = (
            f"contacts_{i}"
        )
        copies.append(copy)
    manifest["streams"] = copies
    manifest["check"]["stream_names"] = ["contacts_1"]
    folder = workdir / "manifest"
    folder.mkdir()
    shutil.copy(source / "components.py", folder / "components.py")
    (folder / "manifest.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    return folder / "manifest.yaml"


def peak_rss_mb() -> float:
    """This process's peak RSS, or its largest child's (the forked source reader) if larger."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def _streams(n: int) -> str:
    return "\n".join(
        f"      contacts_{i}: {{mapping: hubspot/contacts, sync_mode: incremental, write_mode: merge}}"
        for i in range(1, n + 1)
    )


def run_pipeline(url: str, workdir: Path) -> dict[str, float]:
    from flows.sync import sync_connection

    (workdir / "crossdock.yaml").write_text(
        WORKSPACE.format(
            url=url,
            db=workdir / "wh.db",
            parallel=1,
            streams="      contacts: {mapping: hubspot/contacts, sync_mode: incremental, write_mode: merge}",
        )
    )
    os.environ["CROSSDOCK_STORE_URL"] = f"sqlite:///{workdir / 'hub.db'}"
    _start_prefect()  # else the temporary server's start (~3 s of CPU) competes with the stream
    started = time.perf_counter()
    summary = sync_connection("bench", full_refresh=True, workspace_dir=str(workdir)).to_dict()
    wall = time.perf_counter() - started
    stream = summary["streams"]["contacts"]
    assert summary["status"] == "succeeded", summary
    return {
        "records": stream["written"],
        "seconds": stream["seconds"],
        "wall": wall,
        "peak_mb": peak_rss_mb(),
    }


def run_streams(url: str, workdir: Path, n: int, parallel: int) -> dict[str, float]:
    """N streams in one run; records/s is over the run's wall time (the streams overlap)."""
    from flows.sync import sync_connection

    (workdir / "crossdock.yaml").write_text(
        MANY.format(
            manifest=_manifest(workdir, n),
            url=url,
            warehouse=os.environ.get("BENCH_WAREHOUSE_URL") or f"sqlite:///{workdir / 'wh.db'}",
            parallel=parallel,
            streams=_streams(n),
        )
    )
    os.environ["CROSSDOCK_STORE_URL"] = f"sqlite:///{workdir / 'hub.db'}"
    _start_prefect()
    started = time.perf_counter()
    summary = sync_connection("bench", full_refresh=True, workspace_dir=str(workdir)).to_dict()
    wall = time.perf_counter() - started
    assert summary["status"] == "succeeded", summary
    return {
        "records": sum(s["written"] for s in summary["streams"].values()),
        "seconds": wall,
        "wall": wall,
        "peak_mb": peak_rss_mb(),
        "per_stream": {k: s["written"] for k, s in summary["streams"].items()},  # type: ignore[dict-item]
    }


def run_cdk(url: str, workdir: Path) -> dict[str, float]:
    """airbyte-cdk's own read of the same stream with the same manifest, in one process: the
    connector alone, its records counted and dropped (no pipe, no mapping, no writing)."""
    from hub.sources.declarative import DeclarativeSource

    config = {"base_url": url, "access_token": "sandbox-token", "start_date": "2020-01-01T00:00:00Z"}
    source = DeclarativeSource(ROOT / "connectors" / "hubspot" / "manifest.yaml", config, in_child=False)
    started = time.perf_counter()
    records = sum(1 for kind, _ in source.read("contacts", incremental=False, state=None) if kind == "record")
    seconds = time.perf_counter() - started
    return {"records": records, "seconds": seconds, "wall": seconds, "peak_mb": peak_rss_mb()}


def _start_prefect() -> None:
    """Prefect's ephemeral server and this process's imports, before the clock: the run is
    timed as on a worker with a server already up (the server's start-up is bench/package_source.py's
    subject), and the server's start does not compete with the stream for the cores."""
    from prefect import flow

    from hub.sources._forkserver import start_fork_server

    start_fork_server()
    flow(name="bench-warm-up")(lambda: None)()


def run_baseline(url: str, workdir: Path) -> dict[str, float]:
    started = time.perf_counter()
    rows = []
    headers = {"Authorization": "Bearer sandbox-token"}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        after = None
        while True:
            params = {"limit": 100, **({"after": after} if after else {})}
            page = orjson.loads(client.get("/crm/v3/objects/contacts", params=params).content)
            for r in page["results"]:
                p = r["properties"]
                rows.append(
                    (
                        r["id"],
                        p.get("email"),
                        p.get("firstname"),
                        p.get("lastname"),
                        p.get("phone"),
                        r["updatedAt"],
                    )
                )
            after = page.get("paging", {}).get("next", {}).get("after")
            if not after:
                break
    db = sqlite3.connect(workdir / "raw.db")
    db.execute(
        "CREATE TABLE c (id TEXT PRIMARY KEY, email TEXT, first TEXT, last TEXT, phone TEXT, updated TEXT)"
    )
    with db:
        db.executemany("INSERT INTO c VALUES (?,?,?,?,?,?)", rows)
    db.close()
    seconds = time.perf_counter() - started
    return {"records": len(rows), "seconds": seconds, "wall": seconds, "peak_mb": peak_rss_mb()}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--streams", type=int, default=1, choices=range(1, STREAMS + 1))
    parser.add_argument("--parallel", type=int, default=2, help="max_parallel_streams of the concurrent case")
    parser.add_argument(
        "--part", choices=["pipeline", "cdk", "baseline", "sequential", "concurrent"], help=argparse.SUPPRESS
    )
    parser.add_argument(
        "--warehouse",
        help="the streams case: a PostgreSQL server URL (a fresh database per part is made there) "
        "instead of a SQLite file per part",
    )
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.part in ("sequential", "concurrent"):
        parallel = 1 if args.part == "sequential" else args.parallel
        print(json.dumps(run_streams(args.url, Path(args.workdir), args.streams, parallel)))
        return
    if args.part:  # a child process measuring one part
        part = {"pipeline": run_pipeline, "cdk": run_cdk, "baseline": run_baseline}[args.part]
        print(json.dumps(part(args.url, Path(args.workdir))))
        return

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    sandbox = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            from hub.sandbox import serve
            serve(port={port}, seed={args.seed}, scale={args.contacts})"""),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(url)
        results = {}
        parts = ("baseline", "cdk", "pipeline") if args.streams == 1 else ("sequential", "concurrent")
        for part in parts:
            with tempfile.TemporaryDirectory() as workdir, _warehouse(args.warehouse, part) as env:
                out = subprocess.run(
                    [sys.executable, __file__, "--part", part, "--url", url, "--workdir", workdir]
                    + ["--streams", str(args.streams), "--parallel", str(args.parallel)],
                    check=True,
                    capture_output=True,
                    text=True,
                    cwd=ROOT,
                    env={**os.environ, **env},
                ).stdout
                results[part] = json.loads(out.strip().splitlines()[-1])
    finally:
        sandbox.terminate()
        sandbox.wait()
    print(f"contacts: {args.contacts:,} (seed {args.seed}), machine: {os.cpu_count()} cores")
    if args.streams > 1:
        _print_streams(results, args.parallel)
        return
    for part, r in results.items():
        rate = r["records"] / r["seconds"]
        print(
            f"{part:9} {r['records']:>9,} records in {r['seconds']:6.2f}s = {rate:9,.0f} "
            f"records/s (wall {r['wall']:.2f}s incl. start-up), peak RSS {r['peak_mb']:,.0f} MB"
        )
    rate = {part: r["records"] / r["seconds"] for part, r in results.items()}
    print(f"pipeline / raw baseline: {rate['pipeline'] / rate['baseline']:.2f}")
    print(f"pipeline / airbyte-cdk's own read: {rate['pipeline'] / rate['cdk']:.2f} (goal: at least 0.90)")


def _print_streams(results: dict[str, dict[str, float]], parallel: int) -> None:
    print(f"streams: {results['sequential']['per_stream']}")
    for part, r in results.items():
        how = "one after another" if part == "sequential" else f"max_parallel_streams {parallel}"
        print(
            f"{part:10} {r['records']:>9,} records in {r['wall']:6.2f}s = {r['records'] / r['wall']:9,.0f} "
            f"records/s ({how}), peak RSS {r['peak_mb']:,.0f} MB"
        )
    print(f"concurrent / sequential: {results['sequential']['wall'] / results['concurrent']['wall']:.2f}x")


@contextlib.contextmanager
def _warehouse(server: str | None, part: str) -> Iterator[dict[str, str]]:
    """A fresh PostgreSQL database for one part on `server`, dropped afterwards; none: SQLite."""
    if not server:
        yield {}
        return
    import psycopg

    name = f"bench_streams_{part}_{os.getpid()}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield {"BENCH_WAREHOUSE_URL": server.rstrip("/").rsplit("/", 1)[0] + f"/{name}"}
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _wait_for(url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(
                url + "/crm/v3/objects/contacts?limit=1",
                headers={"Authorization": "Bearer sandbox-token"},
                timeout=2,
            )
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise SystemExit(f"sandbox did not start at {url} within {timeout}s")


if __name__ == "__main__":
    main()
