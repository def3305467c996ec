"""Run `crossdock` (hub.cli's main) in this process with marks at the steps of one sync:
wall seconds since this interpreter started and CPU seconds of this process at each,
written as JSON to the file named by CROSSDOCK_TIMELINE when the process exits.

    CROSSDOCK_TIMELINE=/tmp/t.json python bench/_sync_timeline.py --workspace WS sync NAME --json

Used by bench/package_source.py --overhead; nothing here changes what the CLI does, it only
wraps functions to note when they start and end.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _started(pid: int | str = "self") -> float:
    """When the process started, in seconds since boot (/proc, in clock ticks)."""
    with open(f"/proc/{pid}/stat") as fh:
        return int(fh.read().rsplit(")", 1)[1].split()[19]) / os.sysconf("SC_CLK_TCK")


def _since_start() -> float:
    """Wall seconds since this process started."""
    with open("/proc/uptime") as fh:
        return float(fh.read().split()[0]) - _started()


_OFFSET = _since_start() - time.perf_counter()  # perf_counter + this = seconds since start
MARKS: list[dict[str, Any]] = []
EXTRA: dict[str, float] = {}


def mark(name: str) -> None:
    MARKS.append({"step": name, "wall": time.perf_counter() + _OFFSET, "cpu": time.process_time()})


def _cpu_of(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _write() -> None:
    mark("exit handlers done")
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    EXTRA["children_cpu"] = children.ru_utime + children.ru_stime
    Path(os.environ["CROSSDOCK_TIMELINE"]).write_text(json.dumps({"marks": MARKS, **EXTRA}))


def wrap(owner: Any, name: str, label: str, *, end: str | None = None) -> None:
    original = getattr(owner, name)

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        mark(f"{label}")
        try:
            return original(*args, **kwargs)
        finally:
            if end:
                mark(end)

    setattr(owner, name, wrapper)


def wrap_messages() -> None:
    """Each launch of a package's program: when it starts, prints its first message, ends."""
    from hub.sources.package import PackageSource

    original = PackageSource._messages

    def messages(self: PackageSource, command: str, **documents: Any) -> Any:
        mark(f"{command}: program launched")
        first = True
        for message in original(self, command, **documents):
            if first:
                mark(f"{command}: first message")
                first = False
            yield message
        mark(f"{command}: program ended")

    PackageSource._messages = messages  # type: ignore[method-assign]


def wrap_summary(app: Any) -> None:
    """The flow run's end (its summary printed): the CPU Prefect's temporary server used by then."""
    from hub.cli import prefect_server

    original = app.print_json

    def print_json(*args: Any, **kwargs: Any) -> Any:
        mark("flow run finished; summary printed")
        if prefect_server._proc is not None:
            EXTRA["server_cpu"] = _cpu_of(prefect_server._proc.pid)
        return original(*args, **kwargs)

    app.print_json = print_json


def main() -> None:
    atexit.register(_write)  # first registered: runs last
    mark("interpreter started")
    sys.argv[0] = "crossdock"  # as the console script: `sync` starts Prefect's server on import
    import hub.cli  # the CLI's own imports, as `crossdock` pays them

    mark("CLI imported")
    from hub.cli import prefect_server

    if prefect_server._proc is not None:  # started as the package loaded, before its imports
        launched = _started(prefect_server._proc.pid) - _started()
        MARKS.insert(1, {"step": "Prefect server launched", "wall": launched, "cpu": MARKS[0]["cpu"]})
    app = sys.modules["hub.cli.app"]
    import hub.pipeline
    import hub.pipeline.run as run

    wrap(prefect_server, "start_early", "the command asks for Prefect's server")
    wrap(app, "_refuse_dead_api", "API reachability check", end="flows and Prefect import begins")
    wrap(app, "_prefect_ready", "flows and Prefect imported; waiting for the server", end="server ready")
    wrap(run, "claim_connection", "lease asked (store opened)")
    # flows.sync binds these from hub.pipeline when it is imported (after this)
    wrap(hub.pipeline, "begin_run", "flow body starts (run recorded)")
    wrap(hub.pipeline, "plan_stream", "stream task starts (plan)", end="stream planned")
    wrap(hub.pipeline, "sync_stream", "stream sync starts", end="stream sync ends")
    wrap(hub.pipeline, "end_run", "run recorded as ended", end="flow body ends")
    wrap_summary(app)
    wrap_messages()
    hub.cli.main()


if __name__ == "__main__":
    main()
