"""Log lines for machines: `--log-format json` (CLI) or CROSSDOCK_LOG_FORMAT=json (workers).

One JSON object per line on stderr, with the hub's run id, connection and stream on each
record logged while they are known (`log_fields`, set by the flow and its stream tasks), and
Prefect's flow/task run names where its run loggers put them. Secrets are masked as on every
other handler (hub/redaction.py): the handler carries the RedactingFilter, and the finished
line is masked once more in case a field the filter does not see holds one.

The console handlers Prefect configured (and the last-resort one) are replaced by one JSON
handler; the handlers that ship logs to the Prefect API are left alone.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from hub.errors import ConfigError
from hub.redaction import RedactingFilter, redact

__all__ = [
    "LOG_FORMATS",
    "ENV_VAR",
    "JsonLogFormatter",
    "JsonLinesHandler",
    "log_fields",
    "use_log_format",
    "reapply_log_format",
    "use_log_format_from_env",
    "json_logs",
]

LOG_FORMATS = ("text", "json")
ENV_VAR = "CROSSDOCK_LOG_FORMAT"

# Which run and stream the current code works for; a copy travels into each stream task's
# thread (Prefect's thread pool runs a task in a copy of the submitting context).
_fields: ContextVar[dict[str, str]] = ContextVar("crossdock_log_fields", default={})  # noqa: B039 - never mutated
# Prefect's run loggers set these on each record (`extra`).
_PREFECT_FIELDS = ("flow_run_id", "flow_run_name", "task_run_id", "task_run_name")
_configured: str | None = None  # the format this process chose first (the CLI's flag wins)


@contextmanager
def log_fields(**fields: str) -> Iterator[None]:
    """Every record logged inside the block carries these fields (in JSON format)."""
    token = _fields.set({**_fields.get(), **fields})
    try:
        yield
    finally:
        _fields.reset(token)


class JsonLogFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **_fields.get(),
        }
        for name in _PREFECT_FIELDS:
            value = getattr(record, name, None)
            if value is not None and name not in line:
                line[name] = str(value)
        if record.exc_info and record.exc_info[0] is not None:
            line["exception"] = record.exc_text or self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        return redact(json.dumps(line, ensure_ascii=False, default=str))


class JsonLinesHandler(logging.StreamHandler):
    """stderr, one JSON object a line. (Its name has no leading underscore: Prefect's
    logging setup then counts it as the user's root handler and leaves it in place.)"""

    def __init__(self) -> None:
        super().__init__(sys.stderr)
        self.setFormatter(JsonLogFormatter())
        self.addFilter(RedactingFilter())


def _is_console(handler: logging.Handler) -> bool:
    if isinstance(handler, logging.FileHandler) or not isinstance(handler, logging.StreamHandler):
        return False
    return getattr(handler, "stream", None) in (sys.stderr, sys.stdout, sys.__stderr__, sys.__stdout__)


def use_log_format(fmt: str) -> None:
    """Switch this process's console logging to `fmt` (`text` leaves it as configured)."""
    global _configured
    if fmt not in LOG_FORMATS:
        raise ConfigError(f"log format must be one of {', '.join(LOG_FORMATS)}, not {fmt!r}")
    _configured = _configured or fmt
    if fmt == "text":
        return
    from prefect.logging.configuration import ensure_logging_setup

    ensure_logging_setup()  # Prefect's own setup first, or it would put its console back later
    handler = JsonLinesHandler()
    loggers = [logging.getLogger()] + [
        lg for lg in logging.root.manager.loggerDict.values() if isinstance(lg, logging.Logger)
    ]
    for logger in loggers:
        consoles = [h for h in logger.handlers if _is_console(h) and not isinstance(h, JsonLinesHandler)]
        for old in consoles:
            logger.removeHandler(old)
        if consoles or logger is logging.getLogger():
            if not any(isinstance(h, JsonLinesHandler) for h in logger.handlers):
                logger.addHandler(handler)
    logging.lastResort = handler  # a record no handler took: JSON too
    logging.captureWarnings(True)  # and Python's warnings, which print to stderr themselves


def reapply_log_format() -> None:
    """Put this process's chosen format back after something replaced the root logger's
    handlers (the CDK's import does, with its own stdout handler)."""
    if _configured is not None and _configured != "text":
        use_log_format(_configured)


def json_logs() -> bool:
    """Whether this process logs JSON lines (then messages meant for stderr go through logging)."""
    return isinstance(logging.lastResort, JsonLinesHandler)


def use_log_format_from_env() -> None:
    """A flow run's setup (a worker's process has no CLI flag): CROSSDOCK_LOG_FORMAT, unless
    this process chose a format already."""
    fmt = os.environ.get(ENV_VAR)
    if fmt and _configured is None:
        use_log_format(fmt.strip().lower())
