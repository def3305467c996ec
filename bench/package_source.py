"""A connector package, three ways, on the same work: airbyte-source-faker `users`, N records.

1. the source's own `read`, its output piped to /dev/null (the floor: nothing is kept);
2. PyAirbyte (`airbyte` on PyPI) reading it into DuckDB;
3. `crossdock sync` of a connection with that package and the faker/users mapping, into DuckDB.

The three alternate (the order turns each round) and medians are printed, with the ratios
the issue asks for: crossdock at most 1.3x the source's own read, and at least 2x faster
than PyAirbyte. Each run is a fresh process, timed from launch to exit (wall), with its CPU
seconds (its own and its children's) and the peak RSS of its largest process.

PyAirbyte pins versions that clash with ours, so it lives in its own virtualenv; the bench
uses `--pyairbyte-python` (default /tmp/pyairbyte-venv/bin/python) when it exists and skips
that column, saying so, when not:

    python3 -m venv /tmp/pyairbyte-venv && /tmp/pyairbyte-venv/bin/pip install airbyte

`--overhead` measures the fixed cost of one `crossdock sync` instead: a 10-record sync,
wall time minus the stream's own time, and how much of it is Python importing the CLI.
Prefect's temporary server (no PREFECT_API_URL) starts inside each sync; with
PREFECT_API_URL set to a running server it does not.

    python bench/package_source.py [--records 100000] [--rounds 3]
    python bench/package_source.py --overhead [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FAKER = "airbyte-source-faker==7.2.1"
PYAIRBYTE_PYTHON = "/tmp/pyairbyte-venv/bin/python"

WORKSPACE = """\
version: 1
connections:
  fake:
    source:
      package: {package}
      config: {config}
    destination:
      config: {{url: "duckdb:///{db}"}}
    streams:
      users: {{mapping: faker/users, sync_mode: full_refresh, write_mode: overwrite}}
"""

PYAIRBYTE_SCRIPT = """\
import json, sys
import airbyte as ab
config, program, db = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
source = ab.get_source("source-faker", config=config, local_executable=program)
source.select_streams(["users"])
result = source.read(cache=ab.DuckDBCache(db_path=db), force_full_refresh=True)
print(json.dumps({"records": result.processed_records}))
"""


@dataclass
class Run:
    wall: float
    cpu: float
    peak_mb: float
    stream_seconds: float | None = None


def run(args: list[str], env: dict[str, str] | None = None, devnull: bool = False) -> tuple[Run, str]:
    """Run `args` to completion: wall time, CPU seconds of it and the children it waited for,
    and the peak RSS of the largest of them (wait4's rusage of this one child)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL if devnull else out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            raise SystemExit(f"{args[0]} failed (exit {proc.returncode}): {err.read().decode()[-2000:]}")
        out.seek(0)
        text = out.read().decode()
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024), text


def faker_program(connectors: Path) -> Path:
    """The package's program, installed into its own virtualenv on first use (minutes)."""
    from hub.sources.package import PackageSource

    return PackageSource(FAKER, {}, connectors)._program()


def crossdock_env(connectors: Path) -> dict[str, str]:
    env = {**os.environ, "CROSSDOCK_CONNECTORS_DIR": str(connectors), "PYTHONPATH": str(ROOT)}
    env.pop("CROSSDOCK_STORE_URL", None)
    return env


def workspace(folder: Path, config: dict[str, object]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "crossdock.yaml").write_text(
        WORKSPACE.format(package=FAKER, config=json.dumps(config), db=folder / "warehouse.duckdb")
    )
    return folder


def crossdock_sync(ws: Path, env: dict[str, str]) -> Run:
    (ws / "warehouse.duckdb").unlink(missing_ok=True)
    args = [sys.executable, "-m", "hub.cli", "--workspace", str(ws), "sync", "fake", "--json"]
    result, out = run(args, env)
    summary = json.loads(out)
    if summary["status"] != "succeeded":
        raise SystemExit(f"crossdock sync {summary['status']}: {summary}")
    result.stream_seconds = sum(s["seconds"] for s in summary["streams"].values())
    return result


def source_read(program: Path, tmp: Path, config: dict[str, object]) -> Run:
    (tmp / "config.json").write_text(json.dumps(config))
    if not (tmp / "catalog.json").exists():
        _, discovered = run([str(program), "discover", "--config", str(tmp / "config.json")])
        users = next(
            json.loads(line)["catalog"]["streams"]
            for line in discovered.splitlines()
            if line.startswith("{") and '"CATALOG"' in line
        )
        stream = next(s for s in users if s["name"] == "users")
        catalog = {
            "streams": [{"stream": stream, "sync_mode": "full_refresh", "destination_sync_mode": "overwrite"}]
        }
        (tmp / "catalog.json").write_text(json.dumps(catalog))
    args = [
        str(program),
        "read",
        "--config",
        str(tmp / "config.json"),
        "--catalog",
        str(tmp / "catalog.json"),
    ]
    result, _ = run(args, devnull=True)
    return result


def pyairbyte(python: str, program: Path, tmp: Path, config: dict[str, object]) -> Run:
    db = tmp / "pyairbyte.duckdb"
    db.unlink(missing_ok=True)
    env = {**os.environ, "DO_NOT_TRACK": "1", "AIRBYTE_OFFLINE_MODE": "1"}  # no registry, no telemetry
    result, _ = run([python, "-c", PYAIRBYTE_SCRIPT, json.dumps(config), str(program), str(db)], env)
    return result


def median(runs: list[Run], attr: str = "wall") -> float:
    return statistics.median(getattr(r, attr) for r in runs)


def compare(args: argparse.Namespace) -> None:
    connectors = Path(args.connectors_dir)
    program = faker_program(connectors)
    config: dict[str, object] = {"count": args.records, "seed": 5, "always_updated": False}
    python = args.pyairbyte_python if Path(args.pyairbyte_python).exists() else None
    if python is None:
        print(
            f"PyAirbyte: skipped, no {args.pyairbyte_python}; install it apart from crossdock's pins: "
            "python3 -m venv /tmp/pyairbyte-venv && /tmp/pyairbyte-venv/bin/pip install airbyte"
        )
    env = crossdock_env(connectors)
    tools = ["source read", "PyAirbyte", "crossdock sync"] if python else ["source read", "crossdock sync"]
    results: dict[str, list[Run]] = {t: [] for t in tools}
    with tempfile.TemporaryDirectory(prefix="bench-package-") as tmp_name:
        tmp = Path(tmp_name)
        ws = workspace(tmp / "ws", config)
        for round_no in range(args.rounds):
            turn = round_no % len(tools)
            for tool in tools[turn:] + tools[:turn]:  # the order turns each round
                if tool == "source read":
                    r = source_read(program, tmp, config)
                elif tool == "PyAirbyte":
                    assert python is not None
                    r = pyairbyte(python, program, tmp, config)
                else:
                    r = crossdock_sync(ws, env)
                results[tool].append(r)
                extra = f", stream {r.stream_seconds:.1f} s" if r.stream_seconds is not None else ""
                print(
                    f"round {round_no + 1} {tool:15} {r.wall:7.1f} s wall, {r.cpu:6.1f} s CPU{extra}",
                    flush=True,
                )
    print(f"\n{args.records:,} faker users, {args.rounds} rounds each, medians (peak RSS: largest process):")
    for tool, runs in results.items():
        print(
            f"  {tool:15} {median(runs):7.1f} s  {args.records / median(runs):9,.0f} records/s  "
            f"CPU {median(runs, 'cpu'):6.1f} s  peak {max(r.peak_mb for r in runs):6.0f} MB"
        )
    ours, floor = median(results["crossdock sync"]), median(results["source read"])
    print(f"crossdock / source read: {ours / floor:.2f}x (goal <= 1.3x)")
    if python:
        print(f"PyAirbyte / crossdock:   {median(results['PyAirbyte']) / ours:.2f}x (goal >= 2x)")


def overhead(args: argparse.Namespace) -> None:
    """One `crossdock sync` of 10 records: what is not the stream's own time."""
    connectors = Path(args.connectors_dir)
    faker_program(connectors)
    env = crossdock_env(connectors)
    server = os.environ.get("PREFECT_API_URL")
    print(f"Prefect: {'the server at ' + server if server else 'temporary server started by each sync'}")
    with tempfile.TemporaryDirectory(prefix="bench-overhead-") as tmp_name:
        ws = workspace(Path(tmp_name) / "ws", {"count": 10, "seed": 5, "always_updated": False})
        imports, syncs = [], []
        for round_no in range(args.rounds):
            imported, _ = run([sys.executable, "-c", "import hub.cli, flows.sync"], env)
            imports.append(imported)
            synced = crossdock_sync(ws, env)
            syncs.append(synced)
            assert synced.stream_seconds is not None
            print(
                f"round {round_no + 1}: sync {synced.wall:5.1f} s wall ({synced.cpu:5.1f} s CPU), "
                f"stream {synced.stream_seconds:4.1f} s, import of the CLI {imported.wall:4.1f} s",
                flush=True,
            )
    fixed = statistics.median(r.wall - (r.stream_seconds or 0.0) for r in syncs)
    print(
        f"\nmedian fixed overhead of one sync (wall - stream time): {fixed:.1f} s (goal < 5 s on an idle "
        f"machine), of which importing the CLI and flows {median(imports):.1f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pyairbyte-python", default=PYAIRBYTE_PYTHON)
    parser.add_argument(
        "--connectors-dir",
        default=os.environ.get(
            "CROSSDOCK_CONNECTORS_DIR", str(Path(tempfile.gettempdir()) / "crossdock-bench-connectors")
        ),
        help="where the faker package's virtualenv is (installed there on first use)",
    )
    parser.add_argument("--overhead", action="store_true", help="the fixed cost of one sync instead")
    args = parser.parse_args()
    print(
        textwrap.dedent(f"""\
        machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start (numbers are
        only comparable within one run; a busy machine slows all three)""")
    )
    overhead(args) if args.overhead else compare(args)


if __name__ == "__main__":
    main()
