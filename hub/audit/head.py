"""The chain's head, anchored outside the store, so deleting its newest entries is found.

The audit table alone cannot show that its last entries (or all of them) were
deleted: what is left still verifies. So each append also records the newest
(seq, entry_hash) in a small file beside the master key, signed with the audit
key. `verify` and the next append compare the store with it.

Writing it safely:
- written only after the entry's transaction committed, so a rolled-back entry is
  never anchored (a crash in between leaves the head one entry behind, which the
  next append catches up; it never leaves it ahead);
- under an exclusive lock on `<file>.lock`, re-reading the file first and keeping
  the larger seq, so processes that commit 10 and 11 and write in the other order
  never move the head backwards; only `acknowledge` may set it lower, on purpose;
- through a temporary file and an atomic rename, so a reader sees the old head or
  the new one, never half a file.

One file holds one head per store (keyed by the store URL without its password).
It lives on one machine: workers on other machines keep their own and each
anchors what it wrote or saw (docs/security.md).
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hub.audit.chain import AuditIntegrityError
from hub.secrets.keys import Keyring

__all__ = ["Head", "HeadFile", "sign", "signature_holds"]

_FORMAT = 1


@dataclass(frozen=True)
class Head:
    seq: int  # 0 for "before the first entry"
    entry_hash: str  # "" with seq 0
    at: str = ""  # when it was anchored (ISO 8601, UTC)
    where: str = ""  # where this anchor came from, for messages


def sign(keyring: Keyring, purpose: str, body: dict[str, Any], version: int | None = None) -> dict[str, Any]:
    """`body` with `key_version` and `mac` (HMAC with the audit key, bound to `purpose`)."""
    signed = {**body, "key_version": keyring.primary if version is None else version}
    signed["mac"] = _mac(keyring, purpose, signed)
    return signed


def signature_holds(keyring: Keyring, purpose: str, signed: dict[str, Any]) -> bool:
    version = signed.get("key_version")
    if not isinstance(version, int) or version not in keyring.keys or not isinstance(signed.get("mac"), str):
        return False
    return hmac.compare_digest(_mac(keyring, purpose, signed), signed["mac"])


def _mac(keyring: Keyring, purpose: str, signed: dict[str, Any]) -> str:
    body = {k: v for k, v in signed.items() if k != "mac"}
    message = (
        f"crossdock audit {purpose}\n".encode()
        + json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()
    )
    return hmac.new(keyring.audit_key(signed["key_version"]), message, hashlib.sha256).hexdigest()


class HeadFile:
    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self, keyring: Keyring, store: str) -> Head | None:
        """The head anchored for `store`; None if none was ever written here."""
        heads = self._load()
        if store not in heads:
            return None
        signed = heads[store]
        if (
            not isinstance(signed, dict)
            or not signature_holds(keyring, "head " + store, signed)
            or not isinstance(signed.get("seq"), int)
        ):
            raise AuditIntegrityError(
                f"the audit head file {self.path} does not verify with this workspace's key: it "
                "was edited, or copied from another workspace; `crossdock audit verify` shows "
                "whether the log itself holds, `crossdock audit acknowledge --reason ...` "
                "anchors it again"
            )
        return Head(
            signed["seq"], str(signed.get("entry_hash", "")), str(signed.get("at", "")), str(self.path)
        )

    def advance(self, keyring: Keyring, store: str, seq: int, entry_hash: str) -> None:
        """Anchor (seq, entry_hash) unless a later entry is already anchored."""
        self._write(keyring, store, seq, entry_hash, only_forward=True)

    def reset(self, keyring: Keyring, store: str, seq: int, entry_hash: str) -> None:
        """Anchor (seq, entry_hash) even if lower: only for an acknowledged loss."""
        self._write(keyring, store, seq, entry_hash, only_forward=False)

    def _write(self, keyring: Keyring, store: str, seq: int, entry_hash: str, *, only_forward: bool) -> None:
        with self._locked():
            heads = self._load(lenient=not only_forward)
            current = heads.get(store)
            if (
                only_forward
                and isinstance(current, dict)
                and isinstance(current.get("seq"), int)
                and current["seq"] >= seq
            ):
                return
            heads[store] = sign(
                keyring,
                "head " + store,
                {"seq": seq, "entry_hash": entry_hash, "at": datetime.now(UTC).isoformat(timespec="seconds")},
            )
            self._replace({"format": _FORMAT, "heads": heads})

    def _load(self, lenient: bool = False) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            if lenient:
                return {}
            raise AuditIntegrityError(
                f"the audit head file {self.path} cannot be read ({exc}); `crossdock audit "
                "acknowledge --reason ...` writes it again"
            ) from exc
        heads = data.get("heads") if isinstance(data, dict) else None
        if not isinstance(heads, dict):
            if lenient:
                return {}
            raise AuditIntegrityError(
                f"the audit head file {self.path} is not a Crossdock head file; `crossdock audit "
                "acknowledge --reason ...` writes it again"
            )
        return heads

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _replace(self, data: dict[str, Any]) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:  # mkstemp: mode 0600
                json.dump(data, f, sort_keys=True, indent=1)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
