"""A fork server: the one process source readers are forked from.

Forking the hub's own process is unsafe: it runs threads (Prefect's log and event
workers, other streams of the same connection, an in-process sandbox), and a child
forked while one of them holds a lock (a logging handler's, a connection pool's, a
module's) waits on that lock forever. So the hub starts this server once, a fresh
interpreter that imports the CDK and never starts a thread, and asks it for each
reader: the server forks, and the child starts from a single-threaded copy with the
CDK already imported (spawning a fresh interpreter per stream costs ~2 s of imports).

Protocol on a Unix socket pair: the hub sends a length, the write end of the
reader's pipe (as SCM_RIGHTS) and a pickled job; the server answers the child's pid.
The server exits when the hub's end closes (the hub exited or was killed); each
child gets SIGTERM when the server exits.
"""

from __future__ import annotations

import importlib
import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable
from typing import Any

__all__ = ["start_fork_server", "fork_reader"]

PRELOAD = ("hub.sources.declarative",)  # the CDK and the hub's source code
_SIZE = 8


class _Client:
    def __init__(self) -> None:
        self.lock = threading.Lock()  # one request on the socket at a time
        self.proc: subprocess.Popen[bytes] | None = None
        self.sock: socket.socket | None = None

    def start(self) -> socket.socket:
        """The live server's socket, starting a server if none runs. Call under the lock."""
        if self.sock is not None and self.proc is not None and self.proc.poll() is None:
            return self.sock
        if self.sock is not None:
            self.sock.close()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        code = "import sys; from hub.sources._forkserver import serve; serve(int(sys.argv[1]), sys.argv[2:])"
        # The job's modules (a test's, a workspace's) import as they do here.
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code, str(theirs.fileno()), *PRELOAD],
            pass_fds=[theirs.fileno()],
            # Not our stdout: a test runner's workers talk to it over theirs (pytest-xdist), and
            # a server holding it open would keep the worker from ending. Errors go to stderr.
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            env=env,
        )
        theirs.close()
        self.sock = ours
        return ours


_client = _Client()


def start_fork_server() -> None:
    """Start the server now, so that its imports overlap the hub's own start-up."""
    with _client.lock:
        _client.start()


def fork_reader(job: Callable[[int], None], write_fd: int) -> int:
    """Run `job(write_fd)` in a child of the server; returns the child's pid.

    `job` is pickled: a module-level function or a partial of one, with picklable
    arguments. The caller keeps its own copy of `write_fd` and should close it."""
    payload = pickle.dumps(job)
    with _client.lock:
        for attempt in (1, 2):  # a server that died (killed by a person) is started again once
            sock = _client.start()
            try:
                socket.send_fds(sock, [len(payload).to_bytes(_SIZE, "big")], [write_fd])
                sock.sendall(payload)
                answer = _recv_exactly(sock, _SIZE)
                return int.from_bytes(answer, "big")
            except (OSError, EOFError):
                if attempt == 2:
                    raise
                _client.sock = None
                if _client.proc is not None:
                    _client.proc.kill()
                    _client.proc.wait()
    raise AssertionError("unreachable")


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise EOFError("the fork server closed its socket")
        data += chunk
    return data


def serve(sock_fd: int, preload: list[str]) -> None:
    """The server's loop (run in its own interpreter by `_Client.start`)."""
    for module in preload:
        importlib.import_module(module)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    sock = socket.socket(fileno=sock_fd)
    while True:
        try:
            header, fds, _flags, _addr = socket.recv_fds(sock, _SIZE, 1)
            if not header:
                break  # the hub is gone
            payload = _recv_exactly(sock, int.from_bytes(header, "big"))
        except (OSError, EOFError):
            break
        pid = os.fork()
        if pid == 0:
            sock.close()
            _run_child(payload, fds[0])
        os.close(fds[0])
        sock.sendall(pid.to_bytes(_SIZE, "big"))
    os._exit(0)


def _run_child(payload: bytes, write_fd: int) -> None:
    code = 1
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the job may wait on its own children
        _die_with_parent()
        job: Any = pickle.loads(payload)
        job(write_fd)
        code = 0
    except BaseException:  # the job reports its own errors; this is one it could not (an import)
        traceback.print_exc()
    finally:
        os._exit(code)  # no atexit handlers, no flushing of the server's buffers


def _die_with_parent() -> None:
    """On Linux, the child gets SIGTERM when the server exits."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # elsewhere: the next write to the closed pipe ends the child
