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


def current() -> HubContext:
    root = _workspace_override or Path(os.environ.get("CROSSDOCK_WORKSPACE", "."))
    return HubContext(root.resolve())

