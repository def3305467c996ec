"""Secrets: versioned key material and connector credentials encrypted at rest."""

from hub.secrets.keys import KEY_ENV, KeyMaterialError, Keyring, load_keyring, save_keyring
from hub.secrets.store import SecretInfo, SecretRow, SecretStore

__all__ = [
    "Keyring",
    "KeyMaterialError",
    "load_keyring",
    "save_keyring",
    "KEY_ENV",
    "SecretStore",
    "SecretInfo",
    "SecretRow",
]
