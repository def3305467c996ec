"""Load a write-back connector (`connectors/<name>/writeback.py`, found by hub.workspace.locate)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

from hub.errors import ConfigError
from hub.workspace.locate import writeback_connectors, writeback_file
from hub.writeback.api import WritebackApi

__all__ = ["load_writeback"]


def load_writeback(workspace_root: Path, name: str, config: dict[str, Any]) -> WritebackApi:
    """The connector's `Writeback` class, built with its resolved config."""
    path = writeback_file(workspace_root, name)
    if path is None:
        known = ", ".join(writeback_connectors(workspace_root)) or "none"
        raise ConfigError(f"no write-back connector `{name}` (connectors/{name}/writeback.py); "
                          f"known: sql, {known}")
    module_name = f"crossdock_writeback_{name}"
    module = sys.modules.get(module_name)
    if module is None or getattr(module, "__file__", None) != str(path):
        spec = importlib.util.spec_from_file_location(module_name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    return module.Writeback(config)  # type: ignore[no-any-return]
