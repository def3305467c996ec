"""Where the hub finds its workspace, store and key material.

The workspace is the folder holding crossdock.yaml: `--workspace` (CLI), else
CROSSDOCK_WORKSPACE, else the current directory. Its private state (hub store,
key file) lives in `<workspace>/.crossdock/`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from sqlalchemy.engine import Engine

from hub.audit import AuditLog
from hub.redaction import register_secret
from hub.secrets import Keyring, SecretStore, load_keyring
from hub.store import create_db_and_tables, default_store_url, get_engine
from hub.workspace import Workspace, load_workspace

__all__ = ["HubContext", "current", "set_workspace"]

_workspace_override: Path | None = None


def set_workspace(path: Path | None) -> None:
    global _workspace_override
    _workspace_override = path


@dataclass
class HubContext:
    workspace_dir: Path

    @property
    def workspace_file(self) -> Path:
        return self.workspace_dir / "crossdock.yaml"

    @property
    def state_dir(self) -> Path:
        return self.workspace_dir / ".crossdock"

    @property
    def connectors_dir(self) -> Path:
        """Where connector packages get their virtualenvs (shareable between workspaces)."""
        shared = os.environ.get("CROSSDOCK_CONNECTORS_DIR")
        return Path(shared) if shared else self.state_dir / "connectors"

    @property
    def store_url(self) -> str:
        return os.environ.get("CROSSDOCK_STORE_URL") or default_store_url(self.workspace_dir)

    def workspace(self) -> Workspace:
        """crossdock.yaml, loaded and validated (fresh each call: the file may have changed)."""
        return load_workspace(self.workspace_file)

    @cached_property
    def engine(self) -> Engine:
        engine = get_engine(self.store_url)
        create_db_and_tables(engine)
        return engine

    @cached_property
    def keyring(self) -> Keyring:
        return load_keyring(self.state_dir)

    @property
    def audit_head_file(self) -> Path:
        """Where this machine anchors the audit chain's head (beside the key by default)."""
        named = os.environ.get("CROSSDOCK_AUDIT_HEAD")
        return Path(named) if named else self.state_dir / "audit-head.json"

    @cached_property
    def audit(self) -> AuditLog:
        return AuditLog(self.engine, self.keyring, head_file=self.audit_head_file,
                        reload=lambda: load_keyring(self.state_dir))

    @cached_property
    def secrets(self) -> SecretStore:
        return SecretStore(self.engine, self.keyring, reload=lambda: load_keyring(self.state_dir))

    def secret(self, name: str, *, used_by: str) -> str:
        """A secret's value for `used_by`; the use is audited, the value masked in all output."""
        value = self.secrets.get(name)
        register_secret(value)
        self.audit.append("secret.use", target=used_by, details={"secret": name})
        return value


def current() -> HubContext:
    root = _workspace_override or Path(os.environ.get("CROSSDOCK_WORKSPACE", "."))
    return HubContext(root.resolve())

