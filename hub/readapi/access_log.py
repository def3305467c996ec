"""Every read API access goes into the audit log before its answer leaves.

Appending one entry per request would serialise the server on the audit chain's lock; instead
requests queue their entries and one writer thread commits whatever is queued in one
transaction (group commit, `AuditLog.append_many`). Each request waits for its own entry's
commit, so no answer is sent that the log does not hold; if the log refuses (a cut chain), the
request fails with 503 and its data is not sent.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from typing import Any

from hub.audit import AuditLog

__all__ = ["AccessLog"]

_log = logging.getLogger(__name__)
_MAX_BATCH = 1000
_Item = tuple[tuple[str, str, str | None, dict[str, Any]], asyncio.Future[None], asyncio.AbstractEventLoop]


class AccessLog:
    def __init__(self, audit: AuditLog) -> None:
        self.audit = audit
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="crossdock-access-log", daemon=True)
        self._thread.start()

    async def record(self, action: str, actor: str, target: str | None, details: dict[str, Any]) -> None:
        """Returns once the entry is committed; raises what the audit log raised."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._queue.put(((action, actor, target, details), done, loop))
        await done

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < _MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            released = False

            def release(batch: list[_Item] = batch, error: BaseException | None = None) -> None:
                nonlocal released
                released = True
                for _, done, loop in batch:
                    loop.call_soon_threadsafe(_settle, done, error)

            try:
                # The answers go as soon as the entries are committed, not after the head
                # file's fsync: the anchor trails the store by at most this batch.
                self.audit.append_many([entry for entry, _, _ in batch], committed=release)
            except Exception as exc:  # handed to each waiting request (a 503), not lost here
                if not released:
                    release(batch, exc)
                else:  # committed, but the anchor failed: the next append names the problem
                    _log.warning("the audit head could not be anchored: %s", exc)
            if stop:
                return


def _settle(done: asyncio.Future[None], error: BaseException | None) -> None:
    if done.done():  # the request was cancelled (client went away)
        return
    if error is None:
        done.set_result(None)
    else:
        done.set_exception(error)
