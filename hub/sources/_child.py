"""Read a source in a child process and stream its events back over a pipe.

The CDK spends ~50 us per record in Python; mapping and writing spend ~25 us
more. In one process they share one interpreter lock; in two they run on two
cores. The child is forked from the fork server (hub/sources/_forkserver.py), a
single-threaded process with the CDK imported, never from the hub itself: a
child forked from the hub could inherit a lock held by one of its threads.

Wire format, one line per event: a tag byte and a JSON body.
R record, S state, L log, E error, D done.

The child logs through the pipe too, with the hub's secrets masked.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import orjson

from hub.errors import ConfigError, FatalError
from hub.redaction import Masked, RedactingFilter, mask_too, masked_now
from hub.sources._forkserver import fork_reader
from hub.sources.source import LOG, RECORD, STATE, SourceEvent

__all__ = ["CAN_FORK", "read_in_child"]

CAN_FORK = hasattr(os, "fork")

_TAGS = {RECORD: b"R", STATE: b"S", LOG: b"L"}
_KINDS = {v: k for k, v in _TAGS.items()}


def read_in_child(events: Callable[[], Iterator[SourceEvent]]) -> Iterator[SourceEvent]:
    """The events of `events()`, run in a child process. `events` is pickled to get there:
    a module-level function or a partial of one, with picklable arguments."""
    read_fd, write_fd = os.pipe()
    try:
        pid = fork_reader(partial(_child, events, masked_now()), write_fd)
    except BaseException:
        os.close(read_fd)
        raise
    finally:
        os.close(write_fd)
    finished = False
    try:
        with os.fdopen(read_fd, "rb", buffering=1 << 20) as pipe:
            for line in pipe:
                tag, body = line[:1], line[1:]
                if tag == b"R":
                    yield RECORD, orjson.loads(body)
                elif tag in _KINDS:
                    yield _KINDS[tag], orjson.loads(body)
                elif tag == b"E":
                    error = orjson.loads(body)
                    raise (ConfigError if error["type"] == "config" else FatalError)(error["message"])
                elif tag == b"D":
                    finished = True
        if not finished:
            raise FatalError(
                "the source process ended before finishing the stream "
                "(killed or crashed); the next run resumes from the last checkpoint"
            )
    finally:
        if not finished:
            _stop(pid)


def _child(events: Callable[[], Iterator[SourceEvent]], masked: Masked, write_fd: int) -> None:
    code = 0
    try:
        mask_too(masked)
        # A small buffer: the parent sees records about a page at a time, not at the end.
        out = os.fdopen(write_fd, "wb", buffering=1 << 16)
        dumps = orjson.dumps
        lock = threading.Lock()  # the CDK logs from its worker threads too
        _log_through(out, lock)
        try:
            for kind, payload in events():
                line = _TAGS[kind] + dumps(payload) + b"\n"
                with lock:
                    out.write(line)
                    if kind != RECORD:
                        out.flush()
        except ConfigError as exc:
            last = b"E" + dumps({"type": "config", "message": str(exc)}) + b"\n"
        except Exception as exc:  # everything else ends the stream as fatal
            message = str(exc) if isinstance(exc, FatalError) else f"{type(exc).__name__}: {exc}"
            last = b"E" + dumps({"type": "fatal", "message": message}) + b"\n"
        else:
            last = b"D\n"
        with lock:  # a CDK worker thread may still be logging
            out.write(last)
            out.flush()
    except BaseException:  # e.g. the parent is gone (broken pipe)
        code = 1
    finally:
        os._exit(code)  # no atexit handlers, no flushing of the parent's buffers


class _PipeLogHandler(logging.Handler):
    """Warnings and errors logged in the child, sent to the parent as LOG events."""

    def __init__(self, out: Any, lock: threading.Lock) -> None:
        super().__init__(logging.WARNING)
        self.out, self.pipe_lock = out, lock
        self.addFilter(RedactingFilter())  # the parent masks again; a secret never crosses

    def emit(self, record: logging.LogRecord) -> None:
        level = "ERROR" if record.levelno >= logging.ERROR else "WARN"
        line = b"L" + orjson.dumps([level, f"{record.name}: {record.getMessage()}"]) + b"\n"
        with self.pipe_lock:
            self.out.write(line)
            self.out.flush()


def _log_through(out: Any, lock: threading.Lock) -> None:
    """Drop every inherited handler; the root logger's one handler writes to the pipe."""
    loggers = [logging.getLogger()] + [
        lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)
    ]
    for logger in loggers:
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
        logger.propagate = True
    logging.getLogger().addHandler(_PipeLogHandler(out, lock))


def _stop(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
