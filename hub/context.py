"""Where the hub finds its workspace, store and key material, and the per-invocation settings
(progress display, environment overrides) that travel with them.

The workspace is the folder holding crossdock.yaml: `--workspace` (CLI), else
CROSSDOCK_WORKSPACE, else the current directory. Its private state (hub store,
key file) lives in `<workspace>/.crossdock/`.

A flow builds its context from its `workspace_dir` parameter (a deployment's run has
nothing else); a caller in the same process (the CLI, the demo) binds its own context
first with `bound(ctx)`, and the flow picks that one up, progress callback and all.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine

from hub.audit import AuditLog
from hub.errors import ConfigError
from hub.redaction import register_secret
from hub.secrets import Keyring, SecretStore, load_keyring
from hub.store import create_db_and_tables, default_store_url, get_engine
from hub.workspace import Workspace, load_workspace, resolve_config

if TYPE_CHECKING:
    from hub.pipeline.info import StreamInfo

__all__ = ["HubContext", "ProgressFn", "from_environment", "bound", "for_workspace"]

ProgressFn = Callable[["StreamInfo"], None]

# The tables of every feature the context wires; each module registers its own with
# SQLModel's metadata when imported (hub.store itself knows only its own tables).
_FEATURE_TABLES = (
    "hub.audit.models",
    "hub.secrets.store",
    "hub.writeback.state",
    "hub.identity.state",
    "hub.governance.tombstones",
    "hub.readapi.keys",
    "hub.readapi.limits",  # the read API's shared rate buckets
    "hub.monitoring.series",
    "hub.governance.decisions",
    "hub.apigov.models",  # the API ledger
    "hub.reconcile.store",
)


@dataclass
class HubContext:
    workspace_dir: Path
    # Values that `${env:NAME}` sees before os.environ (the demo points the connectors at
    # its sandbox this way, without touching the process environment).
    env: Mapping[str, str] = field(default_factory=dict)
    # Called with each stream's running counts while a sync writes (the CLI's progress bar).
    progress: ProgressFn | None = None

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

    def require_workspace(self) -> None:
        """Refuse a folder without crossdock.yaml before anything creates `.crossdock/` in it:
        a command run in the wrong folder must not start an empty store there."""
        if not self.workspace_file.is_file():
            raise ConfigError(
                f"{self.workspace_dir} holds no crossdock.yaml, so it is not a Crossdock workspace "
                "(nothing was read or created there): run the command in the folder that holds "
                "crossdock.yaml, or name that folder with `--workspace DIR` (or CROSSDOCK_WORKSPACE)"
            )

    def workspace(self) -> Workspace:
        """crossdock.yaml, loaded and validated (fresh each call: the file may have changed)."""
        return load_workspace(self.workspace_file)

    def resolve(self, config: Any, *, where: str, secret: Callable[[str], str] | None = None) -> Any:
        """`config` with its `${env:}` / `${secret:}` references replaced by their values."""
        return resolve_config(
            config, where=where, secret=secret, env=lambda name: self.env.get(name, os.environ.get(name))
        )

    @cached_property
    def engine(self) -> Engine:
        import importlib

        for module in _FEATURE_TABLES:
            importlib.import_module(module)
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
        return AuditLog(
            self.engine,
            self.keyring,
            head_file=self.audit_head_file,
            reload=lambda: load_keyring(self.state_dir),
        )

    @cached_property
    def secrets(self) -> SecretStore:
        return SecretStore(self.engine, self.keyring, reload=lambda: load_keyring(self.state_dir))

    def secret(self, name: str, *, used_by: str) -> str:
        """A secret's value for `used_by`; the use is audited, the value masked in all output."""
        value = self.secrets.get(name)
        register_secret(value)
        self.audit.append("secret.use", target=used_by, details={"secret": name})
        return value


def from_environment(workspace: Path | None = None) -> HubContext:
    """The context of a command: `workspace` if given, else CROSSDOCK_WORKSPACE, else the
    current folder."""
    root = workspace or Path(os.environ.get("CROSSDOCK_WORKSPACE", "."))
    return HubContext(root.resolve())


_bound: ContextVar[HubContext | None] = ContextVar("crossdock_context", default=None)


@contextmanager
def bound(ctx: HubContext) -> Iterator[HubContext]:
    """Flows called inside this block (in this thread, or tasks it starts) use `ctx`."""
    token = _bound.set(ctx)
    try:
        yield ctx
    finally:
        _bound.reset(token)


def for_workspace(workspace_dir: str | Path) -> HubContext:
    """The context a flow or task runs with: the bound one when it is for the same
    workspace, else a plain one built from the folder."""
    path = Path(workspace_dir).resolve()
    ctx = _bound.get()
    return ctx if ctx is not None and ctx.workspace_dir == path else HubContext(path)
