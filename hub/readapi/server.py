"""Running the read API: uvicorn in a thread of this process, on a port it reports back.

`crossdock serve-api` runs it until Ctrl-C; tests and the bench start it on port 0 and stop it
when done. The audit log is the access log, so uvicorn's own is off.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from hub.context import HubContext
from hub.errors import FatalError
from hub.readapi.app import create_app
from hub.readapi.keys import KEY_RECHECK_SECONDS

__all__ = ["running_server"]


@contextmanager
def running_server(
    ctx: HubContext,
    host: str = "127.0.0.1",
    port: int = 8080,
    *,
    key_recheck_seconds: float = KEY_RECHECK_SECONDS,
) -> Iterator[str]:
    """Serve the read API while the block runs; yields its base URL (the real port for 0)."""
    config = uvicorn.Config(
        create_app(ctx, key_recheck_seconds=key_recheck_seconds),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
    )
    server = uvicorn.Server(config)
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
