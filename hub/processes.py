"""Long-running child processes (a Prefect server, its workers): each started in a session
of its own with its output in a log file (a Ctrl-C in the shell that started them does not
reach them), stopped with everything they started, and judged alive by pid.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx

__all__ = [
    "start_logged",
    "pid_alive",
    "descendants",
    "signal_tree",
    "stop_tree",
    "wait_until",
    "wait_for_http",
    "log_tail",
]


def start_logged(
    args: list[str], env: dict[str, str], log: Path, cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start `args` in a new session, stdout and stderr appended to `log`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            args, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def pid_alive(pid: int) -> bool:
    """The process runs (a zombie its parent has not reaped yet counts as dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def descendants(pid: int) -> list[int]:
    """Every live process below `pid` (children, theirs, ...), from /proc."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
            except (OSError, IndexError, ValueError):  # it ended while we looked
                continue
            parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def signal_tree(pid: int, sig: signal.Signals) -> list[int]:
    """Send `sig` to `pid`, its process group and every process below it (a Prefect worker
    starts each flow run in a session of its own: its group alone would leave them running);
    the pids signalled."""
    tree = [pid, *descendants(pid)]
    for target in tree:
        try:
            os.kill(target, sig)
        except ProcessLookupError:
            pass
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
    return tree


def stop_tree(*pids: int, grace: float = 30.0) -> None:
    """SIGTERM each of `pids` and everything below them (all at once: they stop side by side),
    SIGKILL what still runs after `grace` seconds."""
    tree = [p for pid in pids for p in signal_tree(pid, signal.SIGTERM)]
    deadline = time.monotonic() + grace
    while any(pid_alive(p) for p in tree) and time.monotonic() < deadline:
        time.sleep(0.2)
    if any(pid_alive(p) for p in tree):
        for target in tree:  # what it started while stopping is below a pid of `tree`
            if pid_alive(target):
                signal_tree(target, signal.SIGKILL)


def log_tail(log: Path, chars: int = 3000) -> str:
    try:
        return log.read_text(errors="replace")[-chars:]
    except OSError:
        return f"(no log at {log})"


def wait_until(what: str, check: Callable[[], bool], timeout: float, every: float = 1.0) -> None:
    """Poll `check` until it is true; TimeoutError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:.0f} s")
        time.sleep(every)


def wait_for_http(url: str, pid: int, log: Path, timeout: float) -> None:
    """Wait until GET `url` answers 200 while the process `pid` lives; its log's tail in the
    error when it dies or stays silent."""

    def up() -> bool:
        if not pid_alive(pid):
            raise RuntimeError(f"process {pid} exited before {url} answered; its log {log}:\n{log_tail(log)}")
        try:
            return httpx.get(url, timeout=5).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(f"{url} to answer", up, timeout, every=2.0)
    except TimeoutError as exc:
        raise TimeoutError(f"{exc}; the log {log}:\n{log_tail(log)}") from None
