"""Key material: versioned master keys, and the subkeys derived from them.

The master keys come from CROSSDOCK_MASTER_KEY (a JSON keyring or one
urlsafe-base64 key) or from `<state dir>/master.key` (mode 0600). With
neither, a key file is created on first use, so the demo needs no setup.
Rotation adds a version; old versions stay to decrypt old secrets and verify
old audit entries.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import stat
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from hub.errors import ConfigError

__all__ = ["Keyring", "load_keyring", "KEY_ENV", "KeyMaterialError"]

KEY_ENV = "CROSSDOCK_MASTER_KEY"
log = logging.getLogger("crossdock.secrets")


class KeyMaterialError(ConfigError):
    """The master key is missing, malformed, too open or not the one that encrypted the data."""


@dataclass(frozen=True)
class Keyring:
    keys: dict[int, bytes]  # version -> 32 bytes of master key

    @property
    def primary(self) -> int:
        return max(self.keys)

    def _derive(self, version: int, purpose: bytes) -> bytes:
        return _hkdf(self.keys[version], purpose)

    def fernet(self) -> MultiFernet:
        """Encrypts with the primary version, decrypts with any."""
        order = sorted(self.keys, reverse=True)
        return MultiFernet([Fernet(base64.urlsafe_b64encode(self._derive(v, b"secrets"))) for v in order])

    def audit_key(self, version: int) -> bytes:
        return self._derive(version, b"audit")

    def pseudonym_key(self) -> bytes:
        """Keys the hashes that stand in for personal data; from the first version, so a
        person keeps the same pseudonym across key rotations."""
        return self._derive(min(self.keys), b"pseudonym")

    def rotated(self) -> Keyring:
        return Keyring({**self.keys, self.primary + 1: os.urandom(32)})

    def to_json(self) -> str:
        return json.dumps(
            {"keys": {str(v): base64.urlsafe_b64encode(k).decode() for v, k in sorted(self.keys.items())}}
        )


@lru_cache(maxsize=64)
def _hkdf(master: bytes, purpose: bytes) -> bytes:
    """A subkey, derived once per process: the audit log hashes every entry with one (the read
    API writes one per request), and HKDF each time cost more than the HMAC itself."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"crossdock " + purpose).derive(master)


def _parse(text: str, where: str) -> Keyring:
    text = text.strip()
    try:
        if text.startswith("{"):
            raw = {int(v): k for v, k in json.loads(text)["keys"].items()}
        else:
            raw = {1: text}
        keys = {v: base64.urlsafe_b64decode(k.encode()) for v, k in raw.items()}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise KeyMaterialError(
            f"{where} is not a valid Crossdock key ({type(exc).__name__}); restore it from your backup"
        ) from None
    if not keys or any(len(k) != 32 for k in keys.values()):
        raise KeyMaterialError(
            f"{where} is truncated or not a Crossdock key (keys are 32 bytes); restore it from your backup"
        )
    return Keyring(keys)


def key_file(state_dir: Path) -> Path:
    return state_dir / "master.key"


def load_keyring(state_dir: Path) -> Keyring:
    env = os.environ.get(KEY_ENV)
    if env:
        return _parse(env, f"${KEY_ENV}")
    path = key_file(state_dir)
    if not path.exists():
        keyring = Keyring({1: os.urandom(32)})
        if not _create_keyring(state_dir, keyring):  # another process made it first: theirs
            return load_keyring(state_dir)
        log.warning(
            "created a new master key at %s (mode 0600); back it up: without it the "
            "secrets cannot be decrypted nor the audit log verified",
            path,
        )
        return keyring
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise KeyMaterialError(f"{path} is readable by others (mode {mode:o}); run `chmod 600 {path}`")
    return _parse(path.read_text(encoding="utf-8"), str(path))


def _create_keyring(state_dir: Path, keyring: Keyring) -> bool:
    """Write the first key file, unless one appeared meanwhile (False): flow runs starting
    together on a new workspace (two workers, a burst of runs) must all end up with one key."""
    state_dir.mkdir(parents=True, exist_ok=True)
    tmp = key_file(state_dir).with_suffix(f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(keyring.to_json())
    try:
        os.link(tmp, key_file(state_dir))  # atomic, and fails when the name exists
        return True
    except FileExistsError:
        return False
    finally:
        tmp.unlink()


def save_keyring(state_dir: Path, keyring: Keyring) -> None:
    """Write the key file atomically with mode 0600 (never readable by others, even briefly)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    path, tmp = key_file(state_dir), key_file(state_dir).with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(keyring.to_json())
    os.replace(tmp, path)
