"""The forked source reader alone: events cross the pipe, and the child's logging cannot
hang on a lock another parent thread held at the fork."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import pytest

from hub.errors import FatalError
from hub.redaction import register_secret
from hub.sources._child import CAN_FORK, read_in_child
from hub.sources.source import LOG, RECORD, STATE, SourceEvent

pytestmark = pytest.mark.skipif(not CAN_FORK, reason="the forked reader is POSIX-only")


class _HeldLockHandler(logging.Handler):
    """Like a rich console handler: a lock of its own, held by a parent thread."""

    def __init__(self) -> None:
        super().__init__()
        self.busy = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        with self.busy:
            pass


def test_events_arrive_in_order_and_child_logs_come_through_the_pipe() -> None:
    def events() -> Iterator[SourceEvent]:
        yield RECORD, {"id": 1}
        logging.getLogger("airbyte.test").warning("retrying page %d", 2)
        yield RECORD, {"id": 2}
        yield STATE, {"cursor": "b"}

    got = list(read_in_child(events))
    assert got == [
        (RECORD, {"id": 1}),
        (LOG, ["WARN", "airbyte.test: retrying page 2"]),
        (RECORD, {"id": 2}),
        (STATE, {"cursor": "b"}),
    ]


def test_a_handler_lock_held_by_a_parent_thread_at_fork_does_not_hang_the_child() -> None:
    handler = _HeldLockHandler()
    root = logging.getLogger()
    root.addHandler(handler)
    handler.busy.acquire()  # another thread is mid-emit when the child is forked
    try:

        def events() -> Iterator[SourceEvent]:
            logging.getLogger("airbyte").error("page 3 failed")
            yield RECORD, {"id": 3}

        reader = threading.Thread(target=lambda: got.extend(read_in_child(events)), daemon=True)
        got: list[SourceEvent] = []
        reader.start()
        reader.join(timeout=30)
        assert not reader.is_alive(), "the child hung on the inherited handler's lock"
        assert got == [(LOG, ["ERROR", "airbyte: page 3 failed"]), (RECORD, {"id": 3})]
    finally:
        handler.busy.release()
        root.removeHandler(handler)


def test_an_error_in_the_child_is_raised_in_the_parent() -> None:
    def events() -> Iterator[SourceEvent]:
        yield RECORD, {"id": 1}
        raise FatalError("HubSpot said no")

    with pytest.raises(FatalError, match="HubSpot said no"):
        list(read_in_child(events))


def test_a_secret_logged_in_the_child_crosses_the_pipe_masked() -> None:
    register_secret("child-s3cr3t-token")

    def events() -> Iterator[SourceEvent]:
        logging.getLogger("airbyte").warning("retrying with child-s3cr3t-token")
        yield RECORD, {"id": 1}

    got = list(read_in_child(events))
    assert got[0] == (LOG, ["WARN", "airbyte: retrying with ****"])
