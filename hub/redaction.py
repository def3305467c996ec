"""Secret values never leave the process in logs, output, errors, the audit log or dead letters.

Every secret resolved at use is registered here; `redact` replaces it with `****`, in every
form it takes on the wire (docs/security.md lists them):

- raw;
- percent-encoded (a query parameter, a URL path, a form body; `%2B` or `%2b`, and double-
  encoded `%252B`), form-encoded (a space as `+`), JSON-escaped (`\\/`, `\\u00e9`, `\\"`), in
  any mix, character by character;
- base64 (standard and URL-safe): the whole value, and, for values of 8 bytes or more, the
  characters that encode only the value wherever it sits in a longer base64 string (Basic auth's
  `user:secret`, whoever the user); a pair registered with `register_basic_auth` is masked whole.

All forms are compiled into one regex when a secret is registered: masking runs on every log
line. The CDK gets the literal forms for its own log filtering.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import string
import sys
import threading
from typing import Any

__all__ = [
    "register_secret",
    "register_basic_auth",
    "redact",
    "redact_obj",
    "RedactingFilter",
    "install_log_filter",
    "display_url",
    "wire_forms",
    "Masked",
    "masked_now",
    "mask_too",
    "share_with_cdk",
]

MASK = "****"
MIN_LENGTH = 4  # masking "a" everywhere would garble output, not protect
MIN_BASE64_CORE = 8  # shorter values: only their whole base64 is masked (see docs/security.md)
_secrets: set[str] = set()
_literals: set[str] = set()  # base64 forms, matched as they are
_pattern: re.Pattern[str] | None = None
# Substrings one of which any masked form holds: a line holding none skips the regex
# (a C-speed substring test; the usual log line). None: a secret has no such substring.
_needles: tuple[str, ...] | None = ()
_lock = threading.Lock()
_CDK_SECRETS = "airbyte_cdk.utils.airbyte_secrets_utils"
_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")
_JSON_SHORT = {
    '"': '\\"',
    "\\": "\\\\",
    "/": "\\/",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
}


def register_secret(value: str) -> None:
    if not value or len(value) < MIN_LENGTH:
        return
    _register(value, _base64_forms(value.encode()))


def register_basic_auth(username: str, password: str) -> None:
    """Mask `password`, and the base64 of `username:password` whole (an Authorization header)."""
    if not password or len(password) < MIN_LENGTH:
        return
    pair = f"{username}:{password}".encode()
    _register(
        password,
        {
            *_base64_forms(password.encode()),
            base64.b64encode(pair).decode(),
            base64.urlsafe_b64encode(pair).decode(),
        },
    )


def _register(value: str, literals: set[str]) -> None:
    global _pattern, _needles
    with _lock:
        new = value not in _secrets or not literals <= _literals
        if new:
            _secrets.add(value)
            _literals.update(literals)
            _pattern = _compile(_secrets, _literals)
            _needles = _needles_for(_secrets, _literals)
    if new and _CDK_SECRETS in sys.modules:  # not loaded: `share_with_cdk` tells it when it is
        share_with_cdk()
    install_log_filter()  # again: a connector built since may have added handlers


def share_with_cdk() -> None:
    """Give the CDK's own log filter every secret registered so far (its `update_secrets`
    replaces its list). Called where the CDK is loaded to run a source
    (hub/sources/declarative.py): registering a secret does not import the CDK, seconds of
    imports a connector package or a warehouse source never needs."""
    from airbyte_cdk.utils.airbyte_secrets_utils import update_secrets

    with _lock:
        forms = set(_literals).union(*(wire_forms(v) for v in _secrets))
    update_secrets(sorted(forms))


Masked = tuple[frozenset[str], frozenset[str]]  # (secrets, literal forms)


def masked_now() -> Masked:
    """What this process masks, for a child process to mask the same (`mask_too`)."""
    with _lock:
        return frozenset(_secrets), frozenset(_literals)


def mask_too(masked: Masked) -> None:
    secrets, literals = masked
    for value in secrets:
        _register(value, set(literals))


def wire_forms(value: str) -> set[str]:
    """The usual encodings of `value` as literal strings (for filters that cannot take a regex)."""
    from urllib.parse import quote, quote_plus

    forms = {
        value,
        quote(value, safe=""),
        quote(value),
        quote_plus(value),
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
    }
    forms |= {re.sub(r"%[0-9A-F]{2}", lambda m: m[0].lower(), f) for f in set(forms)}
    return {f for f in forms if f}


def _char_pattern(ch: str) -> str:
    """Every way one character of a secret may be written: itself, %XX (any case, maybe
    double-encoded), `+` for a space, a JSON escape."""
    if ch in _UNRESERVED:  # no encoder changes these; a plain literal keeps the regex fast
        return re.escape(ch)
    alts = [re.escape(ch)]
    if ch == " ":
        alts.append(r"\+")
    alts.append("".join(f"%(?:25)?(?i:{b:02x})" for b in ch.encode()))
    escaped = json.dumps(ch)[1:-1]  # \uXXXX (a surrogate pair past the BMP) or itself
    if escaped != ch:
        alts.append(f"(?i:{re.escape(escaped)})")
    if ch in _JSON_SHORT:
        alts.append(re.escape(_JSON_SHORT[ch]))
    if ord(ch) < 0x10000 and not escaped.startswith("\\u"):
        alts.append(f"\\\\u(?i:{ord(ch):04x})")
    return "(?:" + "|".join(alts) + ")"


def _compile(secrets: set[str], literals: set[str]) -> re.Pattern[str]:
    # Longest first: a secret holding another is masked whole, not around the shorter one.
    parts = [(len(s), re.escape(s)) for s in literals]
    parts += [(len(s), "".join(_char_pattern(c) for c in s)) for s in secrets]
    return re.compile("|".join(p for _, p in sorted(parts, key=lambda p: -p[0])))


def _needles_for(secrets: set[str], literals: set[str]) -> tuple[str, ...] | None:
    needles = {s[:4] for s in literals}
    for secret in secrets:
        # the longest run of characters no encoder changes is in every text form
        run = max(re.findall(r"[A-Za-z0-9._~-]+", secret), key=len, default="")
        if len(run) < 3:
            return None
        needles.add(run)
    return tuple(sorted(needles))


def _base64_forms(raw: bytes) -> set[str]:
    """The base64 of `raw` alone, and the characters that encode only `raw` at each of the
    three alignments it can have inside a longer base64 string."""
    forms = {base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()}
    if len(raw) < MIN_BASE64_CORE:
        return forms
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + raw + b"\0\0").decode()
        # char k holds bits [6k, 6k+6): keep those inside the value's bits [8*offset, 8*(offset+n))
        start, end = -(-8 * offset // 6), 8 * (offset + len(raw)) // 6
        core = encoded[start:end]
        forms |= {core, core.replace("+", "-").replace("/", "_")}
    return forms


def redact(text: str) -> str:
    pattern, needles = _pattern, _needles
    if pattern is None or (needles is not None and not any(n in text for n in needles)):
        return text
    return pattern.sub(MASK, text)


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
    if _pattern is None:
        return obj
    if isinstance(obj, str):
        return redact(obj)
    if isinstance(obj, dict):
        return {k: redact_obj(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [redact_obj(v) for v in obj]
    return obj


class RedactingFilter(logging.Filter):
    """Masks the message, and the traceback a record carries (an HTTP error names its URL)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _pattern is None:
            return True
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and record.exc_info[0] is not None:
            text = record.exc_text or logging.Formatter().formatException(record.exc_info)
            # exc_text set: formatters print it instead of formatting exc_info again
            record.exc_text = redact(text)
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def install_log_filter() -> None:
    """Mask secrets in every handler configured now: root's, Prefect's, ours, and the
    last-resort one that prints a record no handler took to stderr (the CDK's, in the CLI)."""
    log_filter = RedactingFilter()
    loggers = [logging.getLogger()] + [
        logger for logger in logging.root.manager.loggerDict.values() if isinstance(logger, logging.Logger)
    ]
    handlers = [h for logger in loggers for h in logger.handlers]
    if logging.lastResort is not None:
        handlers.append(logging.lastResort)
    for handler in handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(log_filter)
