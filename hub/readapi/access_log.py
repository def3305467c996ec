"""Every read API access goes into the audit log before its answer leaves.

Appending one entry per request would serialise the server on the audit chain's lock; instead
requests queue their entries and one writer thread commits whatever is queued in one
transaction (group commit, `AuditLog.append_many`), after waiting up to LINGER_SECONDS for
more to join the first. Each request waits for its own entry's
commit, so no answer is sent that the log does not hold; if the log refuses (a cut chain), the
request fails with 503 and its data is not sent. The head file (its fsync is the slow part) is
anchored by a second thread at the newest committed entry: it trails the store by the entries
committed during one fsync, the window in which cutting entries off the end would go unseen.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from typing import Any

from hub.audit import AuditLog

__all__ = ["AccessLog", "LINGER_SECONDS"]

_log = logging.getLogger(__name__)
_MAX_BATCH = 1000
# How long the writer waits, after the first entry of a batch, for more to join it: a batch's
# transaction (lock, head check, commit) costs far more than an entry, so under load fewer,
# larger batches take less CPU a request; a request waits at most this much longer.
LINGER_SECONDS = 0.002
_Item = tuple[tuple[str, str, str | None, dict[str, Any]], asyncio.Future[None], asyncio.AbstractEventLoop]


class AccessLog:
    def __init__(self, audit: AuditLog, linger: float = LINGER_SECONDS) -> None:
        self.audit, self.linger = audit, linger
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._anchor_queue: queue.SimpleQueue[dict[str, Any] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="crossdock-access-log", daemon=True)
        self._anchorer = threading.Thread(target=self._anchor, name="crossdock-access-anchor", daemon=True)
        self._thread.start()
        self._anchorer.start()

    async def record(self, action: str, actor: str, target: str | None, details: dict[str, Any]) -> None:
        """Returns once the entry is committed; raises what the audit log raised."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._queue.put(((action, actor, target, details), done, loop))
        await done

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)
        self._anchor_queue.put(None)
        self._anchorer.join(timeout=10)

    def _anchor(self) -> None:
        """Anchor the newest committed entry; entries committed meanwhile are anchored together
        (the head file's fsync is slow and must not hold up the batches)."""
        while True:
            newest = self._anchor_queue.get()
            stop = newest is None
            while not self._anchor_queue.empty():
                more = self._anchor_queue.get_nowait()
                stop = stop or more is None
                newest = more if more is not None else newest
            if newest is not None:
                try:
                    self.audit.anchor(newest)
                except Exception as exc:  # the entries are in the store; the next append names the problem
                    _log.warning("the audit head could not be anchored: %s", exc)
            if stop:
                return

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            until = time.monotonic() + self.linger
            while len(batch) < _MAX_BATCH:
                try:
                    item = self._queue.get(timeout=max(0.0, until - time.monotonic()))
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            error: BaseException | None = None
            try:
                written = self.audit.append_many([entry for entry, _, _ in batch], anchor=False)
                self._anchor_queue.put(written[-1])
            except Exception as exc:  # handed to each waiting request (a 503), not lost here
                error = exc
            # One wake-up per event loop, not per request: each costs a write to the loop's pipe.
            waiting: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
            for _, done, loop in batch:
                waiting.setdefault(loop, []).append(done)
            for loop, futures in waiting.items():
                loop.call_soon_threadsafe(_settle, futures, error)
            if stop:
                return


def _settle(futures: list[asyncio.Future[None]], error: BaseException | None) -> None:
    for done in futures:
        if done.done():  # the request was cancelled (client went away)
            continue
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)
