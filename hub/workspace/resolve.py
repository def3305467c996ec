"""Resolve `${env:NAME}` and `${secret:NAME}` references at use, never at load."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hub.errors import ConfigError

__all__ = ["resolve_config", "resolve_sqlite_url"]

_REF = re.compile(r"\$\{(env|secret):([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")

SecretGetter = Callable[[str], str]
EnvGetter = Callable[[str], str | None]


def resolve_config(config: Any, *, where: str, secret: SecretGetter | None = None,
                   env: EnvGetter = os.environ.get) -> Any:
    """A copy of `config` with every reference replaced by its value.

    `${env:NAME:-default}` falls back to the default when NAME is unset; `env` looks
    names up (the process environment unless the caller's context overrides some).
    """
    if isinstance(config, dict):
        return {k: resolve_config(v, where=f"{where}.{k}", secret=secret, env=env)
                for k, v in config.items()}
    if isinstance(config, list):
        return [resolve_config(v, where=f"{where}[{i}]", secret=secret, env=env)
                for i, v in enumerate(config)]
    if not isinstance(config, str) or "${" not in config:
        return config

    def substitute(match: re.Match[str]) -> str:
        kind, name, default = match.groups()
        if kind == "env":
            value = env(name)
            if value is None:
                value = default
            if value is None:
                raise ConfigError(
                    f"environment variable {name} is not set; export it or give a default "
                    f"with ${{env:{name}:-value}}",
                    key=where,
                )
            return value
        if secret is None:
            raise ConfigError(f"secret `{name}` cannot be resolved here", key=where)
        return secret(name)

    return _REF.sub(substitute, config)


def resolve_sqlite_url(url: str, root: Path) -> str:
    """Relative SQLite and DuckDB file paths are relative to the workspace folder, not the
    current directory."""
    for prefix in ("sqlite:///", "duckdb:///"):
        if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
            return prefix + str((root / url.removeprefix(prefix)).resolve())
    return url
