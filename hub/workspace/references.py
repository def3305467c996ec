"""Every `${env:...}`/`${secret:...}` a command will need must resolve before it starts.

Values are still resolved at use (hub.workspace.resolve); this only looks whether they can
be: a missing variable or secret, or a malformed reference, is a config error naming
file:line before any run starts, instead of a run failing stream by stream.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from hub.errors import ConfigError
from hub.workspace.resolve import references
from hub.yaml_lines import line_of, load_yaml_with_lines

if TYPE_CHECKING:
    from hub.context import HubContext
    from hub.workspace.model import Workspace

__all__ = ["check_references"]


def check_references(
    ctx: HubContext, workspace: Workspace | None = None, connection: str | None = None
) -> None:
    """Raise ConfigError (file:line of each reference) unless every reference of `connection`
    (of the whole workspace when None) resolves. Secrets are looked up by name only: nothing
    is decrypted, registered or audited."""
    workspace = workspace or ctx.workspace()
    file = str(workspace.path)
    raw = load_yaml_with_lines(workspace.path)
    base: tuple[Any, ...] = ()
    node: Any = raw
    if connection is not None:
        workspace.connection(connection)  # an unknown name says so, listing the known ones
        base, node = ("connections", connection), raw["connections"][connection]
    known_secrets: set[str] | None = None
    problems: list[tuple[int | None, str, str]] = []
    for loc, value in _strings(node, base):
        where = (line_of(raw, loc), ".".join(map(str, loc)))
        try:
            refs = list(references(value))
        except ValueError as exc:
            problems.append((*where, str(exc)))
            continue
        for ref in refs:
            if ref.kind == "env" and ref.default is None and ref.name not in {**os.environ, **ctx.env}:
                problems.append(
                    (
                        *where,
                        f"environment variable {ref.name} is not set; export it "
                        f"or give a default with ${{env:{ref.name}:-value}}",
                    )
                )
            elif ref.kind == "secret":
                if known_secrets is None:
                    known_secrets = {s.name for s in ctx.secrets.list()}
                if ref.name not in known_secrets:
                    problems.append(
                        (*where, f"secret `{ref.name}` is not set; run `crossdock secrets set {ref.name}`")
                    )
    if len(problems) == 1:
        line, key, message = problems[0]
        raise ConfigError(message, file=file, line=line, key=key)
    if problems:
        raise ConfigError(
            f"{len(problems)} references cannot be resolved:\n  "
            + "\n  ".join(f"{file}:{line} `{key}`: {message}" for line, key, message in problems),
            file=file,
            line=problems[0][0],
        )


def _strings(node: Any, loc: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, (*loc, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _strings(value, (*loc, i))
    elif isinstance(node, str) and "${" in node:
        yield loc, node
