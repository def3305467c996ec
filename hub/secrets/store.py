"""Connector credentials, encrypted at rest (Fernet, versioned keys), resolved only at use."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from cryptography.fernet import InvalidToken
from sqlalchemy import Column, Text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Field, Session, SQLModel, select

from hub.errors import ConfigError
from hub.secrets.keys import KeyMaterialError, Keyring
from hub.store.models import utcnow

__all__ = ["SecretRow", "SecretInfo", "SecretStore"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class SecretRow(SQLModel, table=True):
    __tablename__ = "secrets"
    name: str = Field(primary_key=True)
    ciphertext: str = Field(sa_column=Column(Text, nullable=False))
    key_version: int
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


@dataclass(frozen=True)
class SecretInfo:
    name: str
    created_at: datetime
    updated_at: datetime
    key_version: int


class SecretStore:
    def __init__(self, engine: Engine, keyring: Keyring, reload: Callable[[], Keyring] | None = None) -> None:
        self.engine, self._reload = engine, reload
        self.use_keyring(keyring)

    def use_keyring(self, keyring: Keyring) -> None:
        self.keyring, self._fernet = keyring, keyring.fernet()

    def set(self, name: str, value: str, *, conn: Connection | None = None) -> None:
        """`conn`: write inside that transaction (its owner commits), e.g. with its audit entry."""
        if not _NAME.match(name):
            raise ConfigError(f"`{name}` is not a valid secret name (letters, digits, _)")
        token = self._fernet.encrypt(value.encode()).decode()
        with Session(conn or self.engine) as session:
            row = session.get(SecretRow, name)
            if row is None:
                row = SecretRow(name=name, ciphertext=token, key_version=self.keyring.primary)
            else:
                row.ciphertext, row.key_version = token, self.keyring.primary
                row.updated_at = utcnow()
            session.add(row)
            session.commit()

    def get(self, name: str) -> str:
        with Session(self.engine) as session:
            row = session.get(SecretRow, name)
        if row is None:
            raise ConfigError(f"secret `{name}` is not set; run `crossdock secrets set {name}`")
        return self._decrypt(row)

    def _decrypt(self, row: SecretRow) -> str:
        try:
            return self._fernet.decrypt(row.ciphertext.encode()).decode()
        except InvalidToken:
            # Another process may have rotated the key since we loaded it: look again once.
            if self._reload is not None and row.key_version not in self.keyring.keys:
                self.use_keyring(self._reload())
                return self._decrypt_or_fail(row)
            return self._decrypt_or_fail(row)

    def _decrypt_or_fail(self, row: SecretRow) -> str:
        try:
            return self._fernet.decrypt(row.ciphertext.encode()).decode()
        except InvalidToken:
            raise KeyMaterialError(
                f"secret `{row.name}` cannot be decrypted: the master key is not the one it was "
                f"encrypted with (key version {row.key_version}), or the stored row is corrupted; "
                f"restore the key, or set the secret again"
            ) from None

    def list(self) -> list[SecretInfo]:
        with Session(self.engine) as session:
            rows = session.exec(select(SecretRow).order_by(SecretRow.name)).all()
        return [SecretInfo(r.name, r.created_at, r.updated_at, r.key_version) for r in rows]

    def delete(self, name: str, *, conn: Connection | None = None) -> bool:
        with Session(conn or self.engine) as session:
            row = session.get(SecretRow, name)
            if row is None:
                return False
            session.delete(row)
            session.commit()
            return True

    def reencrypt_all(self) -> int:
        """Re-encrypt every secret with the primary key, one row per transaction.

        Readers keep working throughout: the keyring decrypts old and new versions.
        """
        count = 0
        for info in self.list():
            with Session(self.engine) as session:
                row = session.get(SecretRow, info.name)
                if row is None or row.key_version == self.keyring.primary:
                    continue
                token = self._fernet.rotate(row.ciphertext.encode()).decode()
                row.ciphertext, row.key_version = token, self.keyring.primary
                session.add(row)
                session.commit()
                count += 1
        return count
