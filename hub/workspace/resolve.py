"""Resolve `${env:NAME}` and `${secret:NAME}` references at use, never at load.

Any other `${...}` is a config error, not a literal: `${evn:TOKEN}` sent as a token would be a
credential typo leaking to an API. A literal `${` is written `$${`.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.errors import ConfigError

__all__ = ["resolve_config", "resolve_sqlite_url", "Reference", "references"]

KINDS = ("env", "secret")
_REF = re.compile(r"\$\{(env|secret):([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
# `$${` is an escaped literal; every other `${` starts a reference, closed or not.
_CANDIDATE = re.compile(r"\$\$\{|\$\{[^}]*\}?")


@dataclass(frozen=True)
class Reference:
    kind: str  # env | secret
    name: str
    default: str | None  # `${env:NAME:-default}`


def references(value: str) -> Iterator[Reference]:
    """The references in one config string; ValueError (the reason) for a malformed one."""
    for match in _CANDIDATE.finditer(value):
        if match[0] == "$${":
            continue
        ref = _REF.fullmatch(match[0])
        if ref is None:
            raise ValueError(_malformed(match[0]))
        yield Reference(*ref.groups())


def _malformed(text: str) -> str:
    if not text.endswith("}"):
        return f"reference `{text}` is not closed with `}}`"
    inner = text[2:-1]
    kind, colon, name = inner.partition(":")
    escape = " (a literal `${` is written `$${`)"
    if not colon:
        return f"`{text}` is not a reference: write ${{env:{inner}}} or ${{secret:{inner}}}" + escape
    if kind not in KINDS:
        close = difflib.get_close_matches(kind.strip().lower(), KINDS, n=1, cutoff=0.3)
        hint = f"did you mean `${{{close[0]}:{name}}}`? " if close else ""
        return f"unknown reference `{text}`: {hint}references are ${{env:NAME}} and ${{secret:NAME}}" + escape
    return (
        f"`{text}`: `{name.split(':-')[0]}` is not a valid {kind} name (letters, digits and "
        f"_, not starting with a digit; a default is written ${{env:NAME:-value}})"
    )


SecretGetter = Callable[[str], str]
EnvGetter = Callable[[str], str | None]


def resolve_config(
    config: Any, *, where: str, secret: SecretGetter | None = None, env: EnvGetter = os.environ.get
) -> Any:
    """A copy of `config` with every reference replaced by its value.

    `${env:NAME:-default}` falls back to the default when NAME is unset; `env` looks
    names up (the process environment unless the caller's context overrides some).
    """
    if isinstance(config, dict):
        return {k: resolve_config(v, where=f"{where}.{k}", secret=secret, env=env) for k, v in config.items()}
    if isinstance(config, list):
        return [
            resolve_config(v, where=f"{where}[{i}]", secret=secret, env=env) for i, v in enumerate(config)
        ]
    if not isinstance(config, str) or "${" not in config:
        return config

    def substitute(candidate: re.Match[str]) -> str:
        if candidate[0] == "$${":
            return "${"
        match = _REF.fullmatch(candidate[0])
        if match is None:
            raise ConfigError(_malformed(candidate[0]), key=where)
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

    return _CANDIDATE.sub(substitute, config)


def resolve_sqlite_url(url: str, root: Path) -> str:
    """Relative SQLite and DuckDB file paths are relative to the workspace folder, not the
    current directory."""
    for prefix in ("sqlite:///", "duckdb:///"):
        if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
            return prefix + str((root / url.removeprefix(prefix)).resolve())
    return url
