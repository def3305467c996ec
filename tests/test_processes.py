"""hub/processes.py: a started process, and what it started in a session of its own (as a
Prefect worker starts its flow runs), are stopped together."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from hub.processes import descendants, pid_alive, start_logged, stop_tree, wait_until

# A parent with one child in its group and one that left for a session of its own.
TREE = "sleep 300 & setsid sleep 300 & echo started; wait"


def _tree(tmp_path: Path) -> tuple[subprocess.Popen[bytes], Path]:
    log = tmp_path / "tree.log"
    proc = start_logged(["sh", "-c", TREE], {"PATH": "/usr/bin:/bin"}, log)
    wait_until("both children", lambda: len(descendants(proc.pid)) >= 2, 30, every=0.1)
    return proc, log


def test_stop_tree_stops_the_children_in_other_sessions_too(tmp_path: Path) -> None:
    proc, log = _tree(tmp_path)
    children = descendants(proc.pid)
    assert all(pid_alive(p) for p in children)
    assert len({os.getsid(p) for p in children}) == 2  # one child left the parent's session
    stop_tree(proc.pid, grace=10)
    proc.wait(10)
    assert not any(pid_alive(p) for p in children), children
    assert "started" in log.read_text()  # the output went to the log


def test_a_process_that_ignores_sigterm_is_killed_after_the_grace(tmp_path: Path) -> None:
    proc = start_logged(
        ["sh", "-c", "trap '' TERM; sleep 300 & wait"], {"PATH": "/usr/bin:/bin"}, tmp_path / "l"
    )
    wait_until("its child", lambda: bool(descendants(proc.pid)), 30, every=0.1)
    stop_tree(proc.pid, grace=1)
    assert proc.wait(10) != 0
    assert not pid_alive(proc.pid)
