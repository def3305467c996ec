"""Load a write-back connector (`connectors/<name>/writeback.py`, found by hub.workspace.locate)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

from hub.errors import ConfigError
from hub.workspace.locate import writeback_connectors, writeback_file
from hub.writeback.api import WritebackApi
from hub.writeback.config import WritebackConfig, check_config_keys, validate_config

__all__ = ["load_writeback", "writeback_class", "check_writeback_config"]


def load_writeback(
    workspace_root: Path,
    name: str,
    config: dict[str, Any],
    *,
    workspace_file: Path | None = None,
    connection: str | None = None,
) -> WritebackApi:
    """The connector's `Writeback` class, built with its resolved config, validated against
    its `Config`. With `workspace_file` and `connection`, an error names crossdock.yaml's
    line and the key `connections.<connection>.destination.config.<key>`."""
    cls = writeback_class(workspace_root, name)
    loc = ("connections", connection, "destination", "config") if connection else ("destination", "config")
    validated = validate_config(
        _config_model(cls, name), config, connector=name, file=workspace_file, loc=loc
    )
    return cls(validated)  # type: ignore[no-any-return]


def check_writeback_config(
    workspace_root: Path, name: str, config: Any, *, file: str, raw: Any, connection: str
) -> None:
    """At workspace load: unknown and missing keys in a connection's (unresolved) config."""
    cls = writeback_class(workspace_root, name)
    check_config_keys(
        _config_model(cls, name),
        config,
        connector=name,
        file=file,
        raw=raw,
        loc=("connections", connection, "destination", "config"),
    )


def writeback_class(workspace_root: Path, name: str) -> Any:
    """The `Writeback` class of connectors/<name>/writeback.py, imported once per file."""
    path = writeback_file(workspace_root, name)
    if path is None:
        known = ", ".join(writeback_connectors(workspace_root)) or "none"
        raise ConfigError(
            f"no write-back connector `{name}` (connectors/{name}/writeback.py); known: sql, {known}"
        )
    module_name = f"crossdock_writeback_{name}"
    module = sys.modules.get(module_name)
    if module is None or getattr(module, "__file__", None) != str(path):
        spec = importlib.util.spec_from_file_location(module_name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    return module.Writeback


def _config_model(cls: Any, name: str) -> type[WritebackConfig]:
    model = getattr(cls, "Config", None)
    if not (isinstance(model, type) and issubclass(model, WritebackConfig)):
        raise ConfigError(
            f"connectors/{name}/writeback.py: `Writeback.Config` must be a "
            "hub.writeback.WritebackConfig subclass declaring the connector's "
            "config (see docs/writeback.md)"
        )
    return model
