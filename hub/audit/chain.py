"""Hash-chained, keyed audit entries: any edit, deletion, reordering or forgery is found.

Each entry's HMAC (key derived from the master key, which is not in the
database) covers its own fields and the previous entry's HMAC. `verify` walks
the chain and names the first entry that does not hold.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hub.secrets.keys import Keyring

__all__ = ["entry_hash", "VerifyReport", "verify_entries"]


def _canonical(entry: dict[str, Any]) -> bytes:
    at = entry["at"]
    if isinstance(at, datetime):
        at = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
    fields = [entry["seq"], at, entry["actor"], entry["action"], entry["target"],
              entry["details"], entry["prev_hash"], entry["key_version"]]
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str).encode()


def entry_hash(keyring: Keyring, entry: dict[str, Any]) -> str:
    key = keyring.audit_key(entry["key_version"])
    return hmac.new(key, _canonical(entry), hashlib.sha256).hexdigest()


@dataclass
class VerifyReport:
    ok: bool
    checked: int
    first_bad: int | None = None  # seq of the first entry that does not hold
    problem: str = ""


def verify_entries(keyring: Keyring, entries: Iterable[dict[str, Any]],
                   start_seq: int = 1) -> VerifyReport:
    """Entries in seq order; `start_seq` > 1 when checking an export that starts mid-log."""
    expected_seq, prev_hash, checked = start_seq, None, 0
    for entry in entries:
        seq = entry["seq"]
        if seq != expected_seq:
            what = "deleted" if seq > expected_seq else "inserted or duplicated"
            return VerifyReport(False, checked, expected_seq,
                                f"entry {expected_seq} is missing: entries were {what} "
                                f"(found {seq} where {expected_seq} belongs)")
        if entry["key_version"] not in keyring.keys:
            return VerifyReport(False, checked, seq, f"entry {seq} names key version "
                                f"{entry['key_version']}, which this keyring does not have")
        if not hmac.compare_digest(entry_hash(keyring, entry), entry["entry_hash"]):
            return VerifyReport(False, checked, seq, f"entry {seq} was edited or forged: its "
                                "signature does not match its content")
        if prev_hash is not None and entry["prev_hash"] != prev_hash:
            return VerifyReport(False, checked, seq, f"entry {seq} does not follow entry "
                                f"{seq - 1}: the chain was reordered or rewritten")
        if prev_hash is None and seq == 1 and entry["prev_hash"] != "":
            return VerifyReport(False, checked, seq, "entry 1 claims a predecessor")
        prev_hash, expected_seq, checked = entry["entry_hash"], seq + 1, checked + 1
    return VerifyReport(True, checked)
