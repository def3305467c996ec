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
wall time from launch to exit minus the stream's own time (from the stream's start to its
end, the package program's launch included), with the CPU seconds of the CLI, of Prefect's
temporary server and of the source program apart, and the steps of one sync (wall seconds
since launch, CPU of the CLI; bench/_sync_timeline.py). Two ways, alternating: Prefect's
temporary server started by each sync (no PREFECT_API_URL), and a server already running
(`prefect server start`, started here once, PREFECT_API_URL pointing at it). Then, alone:
the interpreter's start, the CLI's imports, Prefect's imports, the temporary server's
start until it answers, and the source program's own `read` of the 10 records.
`--before PATH` adds syncs of another checkout (e.g. `git worktree add /tmp/before HEAD~3`),
alternating with this one, timed the same way (without the steps).

    python bench/package_source.py [--records 100000] [--rounds 3]
    python bench/package_source.py --overhead [--rounds 3] [--before /tmp/before]
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


def run(
    args: list[str], env: dict[str, str] | None = None, devnull: bool = False, cwd: Path | None = None
) -> tuple[Run, str]:
    """Run `args` to completion: wall time, CPU seconds of it and the children it waited for,
    and the peak RSS of the largest of them (wait4's rusage of this one child)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        stdout = subprocess.DEVNULL if devnull else out
        proc = subprocess.Popen(args, stdout=stdout, stderr=err, env=env, cwd=cwd)
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
    result, out = run(args, env, cwd=ROOT)
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


TIMELINE = ROOT / "bench" / "_sync_timeline.py"
STEPS_SHOWN = (
    "Prefect server launched",
    "CLI imported",
    "flows and Prefect imported; waiting for the server",
    "server ready",
    "flow body starts (run recorded)",
    "stream sync starts",
    "read: program launched",
    "read: first message",
    "stream sync ends",
    "flow body ends",
    "flow run finished; summary printed",
    "exit handlers done",
)


@dataclass
class Sync:
    wall: float
    cpu: float  # the CLI and every process it waited for
    stream: float
    cli_cpu: float | None = None
    server_cpu: float | None = None
    steps: dict[str, tuple[float, float]] | None = None  # step -> (wall since launch, CLI CPU)

    @property
    def fixed(self) -> float:
        return self.wall - self.stream


def timed_sync(ws: Path, env: dict[str, str], root: Path = ROOT, timeline: bool = True) -> Sync:
    """One `crossdock sync` of the bench workspace; with `timeline`, run through
    bench/_sync_timeline.py (the CLI's main() with marks) for its steps."""
    (ws / "warehouse.duckdb").unlink(missing_ok=True)
    cli = ["--workspace", str(ws), "sync", "fake", "--json"]
    env = {**env, "PYTHONPATH": str(root)}
    with tempfile.NamedTemporaryFile(suffix=".json") as marks:
        if timeline:
            args = [sys.executable, str(TIMELINE), *cli]
            env["CROSSDOCK_TIMELINE"] = marks.name
        else:
            args = [sys.executable, "-m", "hub.cli", *cli]
        result, out = run(args, env, cwd=root)  # `-m` puts the working folder first on the path
        summary = json.loads(out)
        if summary["status"] != "succeeded":
            raise SystemExit(f"crossdock sync {summary['status']}: {summary}")
        stream = sum(s["seconds"] for s in summary["streams"].values())
        sync = Sync(result.wall, result.cpu, stream)
        if timeline:
            data = json.loads(Path(marks.name).read_text())
            sync.steps = {m["step"]: (m["wall"], m["cpu"]) for m in data["marks"]}
            sync.cli_cpu = data["marks"][-1]["cpu"]
            sync.server_cpu = data.get("server_cpu")
    return sync


def alone(args: list[str], env: dict[str, str]) -> Run:
    result, _ = run(args, env)
    return result


def server_start(env: dict[str, str]) -> tuple[float, float]:
    """Prefect's temporary server, started as `crossdock sync` starts it: seconds until it
    answers, and its CPU seconds by then."""
    code = textwrap.dedent("""\
        import json, os, time
        from hub.cli import prefect_server
        prefect_server.enable()
        started = time.perf_counter()
        assert prefect_server.start_early(), "Prefect is configured to use a server"
        prefect_server.wait_ready()
        wall = time.perf_counter() - started
        with open(f"/proc/{prefect_server._proc.pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        print(json.dumps([wall, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")]))
        """)
    _, out = run([sys.executable, "-c", code], {**env, "PYTHONPATH": str(ROOT)})
    wall, cpu = json.loads(out)
    return float(wall), float(cpu)


class RunningServer:
    """`prefect server start` on a free local port, for the syncs that use a running server."""

    def __enter__(self) -> str:
        from hub.cli.prefect_server import _free_port

        port = _free_port()
        self.url = f"http://127.0.0.1:{port}/api"
        env = {**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
        env.pop("PREFECT_API_URL", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        from urllib.request import urlopen

        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                with urlopen(f"{self.url}/health", timeout=2):
                    return self.url
            except OSError:
                time.sleep(0.2)
        raise SystemExit("`prefect server start` did not answer within 300 s")

    def __exit__(self, *_: object) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def overhead(args: argparse.Namespace) -> None:
    """One `crossdock sync` of 10 records: what is not the stream's own time."""
    connectors = Path(args.connectors_dir)
    program = faker_program(connectors)
    env = crossdock_env(connectors)
    if env.get("PREFECT_API_URL"):
        raise SystemExit("unset PREFECT_API_URL: the bench starts the running server it compares with")
    before = Path(args.before).resolve() if args.before else None
    config: dict[str, object] = {"count": 10, "seed": 5, "always_updated": False}
    ways: dict[str, list[Sync]] = {"temporary server": [], "running server": []}
    if before:
        ways = {"before, temporary server": [], **ways}
    with tempfile.TemporaryDirectory(prefix="bench-overhead-") as tmp_name, RunningServer() as url:
        tmp = Path(tmp_name)
        ws = workspace(tmp / "ws", config)
        served = {**env, "PREFECT_API_URL": url}
        timed_sync(ws, env)  # first use: the catalog discovered and kept, Prefect's database made
        if before:
            timed_sync(ws, env, before, timeline=False)
        for round_no in range(args.rounds):
            names = list(ways)
            turn = round_no % len(names)
            for way in names[turn:] + names[:turn]:
                if way.startswith("before"):
                    assert before is not None
                    sync = timed_sync(ws, env, before, timeline=False)
                else:
                    sync = timed_sync(ws, served if way == "running server" else env)
                ways[way].append(sync)
                parts = ""
                if sync.cli_cpu is not None:
                    server = f", server {sync.server_cpu:.1f}" if sync.server_cpu else ""
                    parts = f": CLI {sync.cli_cpu:.1f}{server}"
                print(
                    f"round {round_no + 1} {way:25} {sync.wall:5.1f} s wall, stream {sync.stream:4.1f} s, "
                    f"fixed {sync.fixed:4.1f} s; CPU {sync.cpu:5.1f} s{parts} "
                    f"(load {os.getloadavg()[0]:.1f})",
                    flush=True,
                )
        python = [sys.executable, "-c"]
        py_env = {**env, "PYTHONPATH": str(ROOT)}
        codes = {
            "interpreter start (python -c pass)": "pass",
            "import hub.cli": "import hub.cli",
            "import hub.cli, flows.sync (Prefect)": "import hub.cli, flows.sync",
        }
        floors = {
            name: [alone([*python, code], py_env) for _ in range(args.rounds)] for name, code in codes.items()
        }
        (tmp / "config.json").write_text(json.dumps(config))
        floors["the source's own read of 10 records"] = [
            source_read(program, tmp, config) for _ in range(args.rounds)
        ]
        starts = [server_start(env) for _ in range(args.rounds)]
    print(f"\nmedians of {args.rounds} rounds (fixed = wall from launch to exit - the stream's own time):")
    for way, syncs in ways.items():
        print(
            f"  {way:25} wall {statistics.median(s.wall for s in syncs):5.1f} s, stream "
            f"{statistics.median(s.stream for s in syncs):4.1f} s, fixed "
            f"{statistics.median(s.fixed for s in syncs):4.1f} s (goal < 5 s on an idle machine), "
            f"CPU {statistics.median(s.cpu for s in syncs):5.1f} s"
        )
    for way, syncs in ways.items():
        timed = [s for s in syncs if s.steps]
        if not timed:
            continue
        middle = sorted(timed, key=lambda s: s.fixed)[len(timed) // 2]
        assert middle.steps is not None
        print(f"\nsteps of the median sync, {way} (wall s since launch, CPU s of the CLI process):")
        for step, (wall, cpu) in sorted(middle.steps.items(), key=lambda kv: kv[1][0]):
            if step in STEPS_SHOWN:
                print(f"  {wall:6.2f} {cpu:6.2f}  {step}")
    print("\nalone (medians):")
    for name, runs in floors.items():
        print(f"  {name:40} {median(runs):5.2f} s wall, {median(runs, 'cpu'):5.2f} s CPU")
    print(
        f"  {'temporary server until it answers':40} {statistics.median(w for w, _ in starts):5.2f} s wall, "
        f"{statistics.median(c for _, c in starts):5.2f} s CPU"
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
    parser.add_argument("--before", help="--overhead: also time syncs of this checkout (another worktree)")
    args = parser.parse_args()
    print(
        textwrap.dedent(f"""\
        machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start (numbers are
        only comparable within one run; a busy machine slows all three)""")
    )
    overhead(args) if args.overhead else compare(args)


if __name__ == "__main__":
    main()
