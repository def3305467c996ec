"""One writer at a time among this machine's read API processes, on a SQLite hub store.

`crossdock serve-api --workers N` writes to the store from every worker: audit batches and rate
bucket takes. SQLite lets one writer in at a time and makes the others poll: a busy writer sleeps
1, 2, 5, 10 ... ms between tries (its busy handler), so under load a worker could wait tens of
milliseconds for a lock held a millisecond at a time while the other worker kept taking it. The
workers take this file lock (beside the store) around each write transaction instead: the kernel
queues them and wakes the next one as soon as the lock is let go. Other writers (a sync, the CLI)
still meet SQLite's own lock, as before. PostgreSQL's advisory lock already queues: no file lock.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Engine

__all__ = ["StoreWriteLock"]


class StoreWriteLock:
    def __init__(self, engine: Engine) -> None:
        database = engine.url.database if engine.dialect.name == "sqlite" else None
        self.path = f"{database}.api-writer.lock" if database and database != ":memory:" else None
        self._threads = threading.Lock()  # a file lock does not order the threads of one process
        self._fd: tuple[int, int] | None = None  # (pid, fd): opened in the process that locks

    @contextmanager
    def held(self) -> Iterator[None]:
        if self.path is None:
            yield
            return
        with self._threads:
            fd = self._open()
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def _open(self) -> int:
        if self._fd is None or self._fd[0] != os.getpid():
            assert self.path is not None
            self._fd = (os.getpid(), os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
        return self._fd[1]

    def close(self) -> None:
        if self._fd is not None and self._fd[0] == os.getpid():
            os.close(self._fd[1])
        self._fd = None
