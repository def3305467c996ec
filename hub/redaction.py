"""Secret values never leave the process in logs, output, errors, the audit log or dead letters.

Every secret resolved at use is registered here; `redact` replaces it with
`****`. The CDK gets the same values for its own log filtering.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

__all__ = ["register_secret", "redact", "redact_obj", "RedactingFilter", "install_log_filter",
           "display_url"]

MASK = "****"
_secrets: set[str] = set()
_lock = threading.Lock()


def register_secret(value: str) -> None:
    if not value or len(value) < 4:  # masking "a" everywhere would garble output, not protect
        return
    with _lock:
        _secrets.add(value)
    from airbyte_cdk.utils.airbyte_secrets_utils import update_secrets

    update_secrets([value])
    install_log_filter()


def redact(text: str) -> str:
    for value in sorted(_secrets, key=len, reverse=True):
        if value in text:
            text = text.replace(value, MASK)
    return text


def display_url(url: str) -> str:
    """A database URL fit for output: a password written into it is masked."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return redact(url)
    host = parts.hostname or ""
    netloc = f"{parts.username}:{MASK}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def redact_obj(obj: Any) -> Any:
    """A copy of a JSON-like value with every registered secret masked."""
    if not _secrets:
        return obj
    if isinstance(obj, str):
        return redact(obj)
    if isinstance(obj, dict):
        return {k: redact_obj(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [redact_obj(v) for v in obj]
    return obj


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if _secrets:
            message = record.getMessage()
            redacted = redact(message)
            if redacted != message:
                record.msg, record.args = redacted, None
        return True


def install_log_filter() -> None:
    """Mask secrets in every handler configured now: root's, Prefect's, ours."""
    log_filter = RedactingFilter()
    loggers = [logging.getLogger()] + [
        logger for logger in logging.root.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)]
    for logger in loggers:
        for handler in logger.handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(log_filter)
