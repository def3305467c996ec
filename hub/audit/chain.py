"""Hash-chained, keyed audit entries: any edit, deletion, reordering or forgery is found.

Each entry's HMAC (key derived from the master key, which is not in the
database) covers its own fields and the previous entry's HMAC. `verify` walks
the chain and names the first entry that does not hold. A row that cannot even
be read as an entry (a `seq` that is not a number, `details` that are not a JSON
object) is reported the same way: someone wrote to the table by hand.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeGuard

from hub.errors import FatalError
from hub.secrets.keys import Keyring

__all__ = ["AuditIntegrityError", "entry_hash", "entry_problem", "VerifyReport", "verify_entries"]

_FIELDS = ("seq", "at", "actor", "action", "target", "details", "prev_hash", "key_version", "entry_hash")


class AuditIntegrityError(FatalError):
    """The audit log does not hold (tampered, cut off, unreadable): nothing was appended."""


def _canonical(entry: dict[str, Any]) -> bytes:
    at = entry["at"]
    if isinstance(at, datetime):
        at = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
    fields = [
        entry["seq"],
        at,
        entry["actor"],
        entry["action"],
        entry["target"],
        entry["details"],
        entry["prev_hash"],
        entry["key_version"],
    ]
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str).encode()


def entry_hash(keyring: Keyring, entry: dict[str, Any]) -> str:
    key = keyring.audit_key(entry["key_version"])
    return hmac.new(key, _canonical(entry), hashlib.sha256).hexdigest()


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _malformed(entry: dict[str, Any]) -> str:
    """Why `entry` is not shaped like an entry the hub writes ("" if it is)."""
    missing = [f for f in _FIELDS if f not in entry]
    if missing:
        return f"has no {', '.join(missing)}"
    checks = [
        (_is_int(entry["seq"]), "seq"),
        (isinstance(entry["at"], datetime), "at"),
        (isinstance(entry["details"], dict), "details"),
        (_is_int(entry["key_version"]), "key_version"),
        (isinstance(entry["prev_hash"], str), "prev_hash"),
        (isinstance(entry["entry_hash"], str), "entry_hash"),
    ]
    for ok, field in checks:
        if not ok:
            shown = repr(entry[field])
            shown = shown if len(shown) <= 40 else shown[:37] + "..."
            return f"has {field} {shown}, which the hub never writes"
    return ""


def entry_problem(keyring: Keyring, entry: dict[str, Any], where: str) -> str:
    """Why one entry, on its own, does not hold ("" if its shape and signature are right)."""
    shape = _malformed(entry)
    if shape:
        return f"{where} {shape}: the row was edited or written by hand"
    if entry["key_version"] not in keyring.keys:
        return f"{where} names key version {entry['key_version']}, which this keyring does not have"
    if not hmac.compare_digest(entry_hash(keyring, entry), entry["entry_hash"]):
        return f"{where} was edited or forged: its signature does not match its content"
    return ""


@dataclass
class VerifyReport:
    ok: bool
    checked: int
    first_bad: int | None = None  # seq of the first entry that does not hold
    problem: str = ""
    last: tuple[int, str] | None = None  # (seq, entry_hash) of the last entry that held
    note: str = ""  # something the reader should know although the chain holds


def verify_entries(
    keyring: Keyring, entries: Iterable[dict[str, Any]], start_seq: int = 1, prev_hash: str | None = None
) -> VerifyReport:
    """Entries in seq order; `start_seq` > 1 (and the predecessor's `prev_hash`, when known)
    when checking a stretch that starts mid-log."""
    expected_seq, checked = start_seq, 0
    last: tuple[int, str] | None = None
    if start_seq == 1:
        prev_hash = ""
    for entry in entries:
        seq = entry.get("seq")
        if not _is_int(seq):
            return VerifyReport(
                False,
                checked,
                expected_seq,
                entry_problem(keyring, entry, f"the entry after entry {expected_seq - 1}"),
                last,
            )
        if seq != expected_seq:
            what = "deleted" if seq > expected_seq else "inserted or duplicated"
            return VerifyReport(
                False,
                checked,
                expected_seq,
                f"entry {expected_seq} is missing: entries were {what} "
                f"(found {seq} where {expected_seq} belongs)",
                last,
            )
        problem = entry_problem(keyring, entry, f"entry {seq}")
        if problem:
            return VerifyReport(False, checked, seq, problem, last)
        if prev_hash is not None and entry["prev_hash"] != prev_hash:
            problem = (
                "entry 1 claims a predecessor"
                if seq == 1
                else f"entry {seq} does not follow entry {seq - 1}: the chain was reordered or rewritten"
            )
            return VerifyReport(False, checked, seq, problem, last)
        prev_hash, expected_seq, checked = entry["entry_hash"], seq + 1, checked + 1
        last = (seq, entry["entry_hash"])
    return VerifyReport(True, checked, last=last)
