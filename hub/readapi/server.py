"""Running the read API: uvicorn in a thread of this process, or in worker processes.

`running_server` serves in a thread of the calling process on a port it reports back (tests and
the bench start it on port 0). `serve_workers` is `crossdock serve-api --workers N`: the socket
is bound once, then N forked processes each run uvicorn on it (the kernel hands each connection
to one of them), each with its own store connections and audit writer; the rate buckets are in
the store (or Redis), so a key's rate holds across them. The audit log is the access log, so
uvicorn's own is off.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import uvicorn

from hub.context import HubContext
from hub.errors import FatalError
from hub.readapi.app import LeanProfiles, create_app
from hub.readapi.keys import KEY_RECHECK_SECONDS

__all__ = ["running_server", "serve_workers", "listening_socket"]


def _config(
    ctx: HubContext, host: str, port: int, key_recheck_seconds: float, rate_store: str | None
) -> uvicorn.Config:
    return uvicorn.Config(
        # the hot endpoint answered without FastAPI's routing (hub/readapi/app.py LeanProfiles)
        LeanProfiles(create_app(ctx, key_recheck_seconds=key_recheck_seconds, rate_store=rate_store)),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        # httptools: uvicorn's C parser, a little less CPU a request than h11. Not uvloop: in
        # this server's thread it took more CPU a request than asyncio's loop (docs/benchmarks.md).
        loop="asyncio",
        http="httptools",
    )


@contextmanager
def running_server(
    ctx: HubContext,
    host: str = "127.0.0.1",
    port: int = 8080,
    *,
    key_recheck_seconds: float = KEY_RECHECK_SECONDS,
    rate_store: str | None = None,
) -> Iterator[str]:
    """Serve the read API while the block runs; yields its base URL (the real port for 0)."""
    server = uvicorn.Server(_config(ctx, host, port, key_recheck_seconds, rate_store))
    thread = threading.Thread(target=server.run, name="crossdock-read-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise FatalError(f"the read API did not start on {host}:{port} (is the port taken?)")
        time.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{bound}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def serve_workers(
    ctx: HubContext,
    host: str,
    port: int,
    workers: int,
    *,
    rate_store: str | None = None,
    ready: Callable[[str], None] = lambda url: None,
) -> None:
    """Serve with `workers` processes until SIGINT/SIGTERM; each worker writes its queued audit
    entries before it exits. A worker that dies stops the others (and this raises)."""
    sock = listening_socket(host, port)
    ctx.engine.dispose()  # no pooled store connection crosses the fork
    children = [_fork_worker(ctx, sock, rate_store) for _ in range(workers)]
    sock.close()
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True
        for pid in children:
            _signal(pid, signal.SIGTERM)

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    ready(f"http://{host}:{port}")
    failed = ""
    try:
        while children:
            pid, status = os.wait()
            if pid not in children:
                continue
            children.remove(pid)
            code = os.waitstatus_to_exitcode(status)
            if not stopping and not failed:
                failed = f"read API worker {pid} exited ({code}); the other workers were stopped"
                stop(signal.SIGTERM, None)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    if failed:
        raise FatalError(failed)


def listening_socket(host: str, port: int) -> socket.socket:
    """The socket the workers share, bound and listening."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named, not left 0: asyncio turns Nagle off (TCP_NODELAY) only on connections
    # of a socket that says it is TCP. With Nagle on, an answer's body (a second write after
    # its head) waited for the client's delayed ACK: ~40 ms a request with --workers.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise FatalError(
            f"the read API cannot listen on {host}:{port}: {exc.strerror} (is the port taken?)"
        ) from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _fork_worker(ctx: HubContext, sock: socket.socket, rate_store: str | None) -> int:
    pid = os.fork()
    if pid:
        return pid
    code = 0
    try:
        # uvicorn puts its own handlers in place and, once stopped, raises the signal again
        # under these: ignored, so the worker ends by the exit below.
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)
        # A context of its own: the store engine, audit writer and warehouse are per process.
        mine = dataclasses.replace(ctx)
        config = _config(mine, "", 0, KEY_RECHECK_SECONDS, rate_store)
        uvicorn.Server(config).run(sockets=[sock])  # handles SIGINT/SIGTERM: a clean shutdown
    except BaseException:  # the traceback goes to this worker's stderr
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        os._exit(code)


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass
