"""The source reader process alone: events cross the pipe, and the reader cannot hang on a
lock a thread of the hub held when the reader started (it is forked from the fork server,
never from the hub)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import pytest

from hub.errors import FatalError
from hub.redaction import register_secret
from hub.sources._child import CAN_FORK, read_in_child
from hub.sources.source import LOG, RECORD, STATE, SourceEvent

pytestmark = pytest.mark.skipif(not CAN_FORK, reason="the reader process is POSIX-only")

# Held by a thread of this process in one test; a reader forked from this process would
# start with it held and wait on it forever.
SHARED_LOCK = threading.Lock()


class _HeldLockHandler(logging.Handler):
    """Like a rich console handler: a lock of its own, held by a parent thread."""

    def __init__(self) -> None:
        super().__init__()
        self.busy = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        with self.busy:
            pass


def _in_order_with_a_log() -> Iterator[SourceEvent]:
    yield RECORD, {"id": 1}
    logging.getLogger("airbyte.test").warning("retrying page %d", 2)
    yield RECORD, {"id": 2}
    yield STATE, {"cursor": "b"}


def _logs_an_error() -> Iterator[SourceEvent]:
    logging.getLogger("airbyte").error("page 3 failed")
    yield RECORD, {"id": 3}


def _takes_the_shared_lock() -> Iterator[SourceEvent]:
    with SHARED_LOCK:
        yield RECORD, {"id": 4}


def _fails_after_one() -> Iterator[SourceEvent]:
    yield RECORD, {"id": 1}
    raise FatalError("HubSpot said no")


def _logs_the_secret() -> Iterator[SourceEvent]:
    logging.getLogger("airbyte").warning("retrying with child-s3cr3t-token")
    yield RECORD, {"id": 1}


def _numbered(first: int, count: int) -> Iterator[SourceEvent]:
    for i in range(first, first + count):
        yield RECORD, {"id": i}


def _read_in_thread(events: object) -> list[SourceEvent]:
    got: list[SourceEvent] = []
    reader = threading.Thread(target=lambda: got.extend(read_in_child(events)), daemon=True)  # type: ignore[arg-type]
    reader.start()
    reader.join(timeout=60)
    assert not reader.is_alive(), "the reader hung"
    return got


def test_events_arrive_in_order_and_child_logs_come_through_the_pipe() -> None:
    assert list(read_in_child(_in_order_with_a_log)) == [
        (RECORD, {"id": 1}),
        (LOG, ["WARN", "airbyte.test: retrying page 2"]),
        (RECORD, {"id": 2}),
        (STATE, {"cursor": "b"}),
    ]


def test_a_handler_lock_held_by_a_parent_thread_does_not_hang_the_reader() -> None:
    handler = _HeldLockHandler()
    root = logging.getLogger()
    root.addHandler(handler)
    handler.busy.acquire()  # another thread is mid-emit when the reader starts
    try:
        got = _read_in_thread(_logs_an_error)
        assert got == [(LOG, ["ERROR", "airbyte: page 3 failed"]), (RECORD, {"id": 3})]
    finally:
        handler.busy.release()
        root.removeHandler(handler)


def test_a_lock_a_hub_thread_holds_is_not_held_in_the_reader() -> None:
    # A fork of this process would copy SHARED_LOCK held, and `_takes_the_shared_lock`
    # would wait forever (the hang seen with parallel streams).
    holder_has_it, release = threading.Event(), threading.Event()

    def hold() -> None:
        with SHARED_LOCK:
            holder_has_it.set()
            release.wait(120)

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    assert holder_has_it.wait(10)
    try:
        assert _read_in_thread(_takes_the_shared_lock) == [(RECORD, {"id": 4})]
    finally:
        release.set()
        holder.join(10)


def test_readers_started_from_several_threads_at_once_each_get_their_own_events() -> None:
    from functools import partial

    results: dict[int, list[SourceEvent]] = {}

    def read(n: int) -> None:
        results[n] = list(read_in_child(partial(_numbered, n * 1000, 500)))

    threads = [threading.Thread(target=read, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert {n: [e[1]["id"] for e in events] for n, events in results.items()} == {
        n: list(range(n * 1000, n * 1000 + 500)) for n in range(4)
    }


def test_an_error_in_the_child_is_raised_in_the_parent() -> None:
    with pytest.raises(FatalError, match="HubSpot said no"):
        list(read_in_child(_fails_after_one))


def test_a_secret_logged_in_the_child_crosses_the_pipe_masked() -> None:
    register_secret("child-s3cr3t-token")
    got = list(read_in_child(_logs_the_secret))
    assert got[0] == (LOG, ["WARN", "airbyte: retrying with ****"])
