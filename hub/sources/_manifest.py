"""Load a connector manifest the way the CDK must see it: with the shared definitions it uses.

Pieces many manifests share (the error policy) live once in connectors/_shared/*.yaml,
each a YAML file with a `definitions:` mapping. The CDK resolves `$ref: "#/definitions/..."`
only inside one manifest, so before a manifest reaches the CDK, every shared file it
references is copied into the manifest's own `definitions`. A manifest that references
none of them is handed on unchanged (any Airbyte manifest can run here).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from hub.errors import ConfigError
from hub.yaml_lines import line_of, load_yaml_with_lines

_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when there: 10x faster

__all__ = ["SHARED_DIR", "load_manifest", "with_shared_definitions"]

# connectors/_shared beside hub/ (the repository, or the installed packages)
SHARED_DIR = Path(__file__).resolve().parents[2] / "connectors" / "_shared"
_PREFIX = "#/definitions/"
# The CDK leaves these values alone (they are config, not components); so does this module.
_CONFIG_VALUE_KEYS = frozenset({"config_overrides"})


def load_manifest(path: Path, shared_dir: Path = SHARED_DIR) -> dict[str, Any]:
    """The manifest at `path`, parsed, with the shared definitions it references merged in."""
    try:
        manifest = yaml.load(path.read_text(encoding="utf-8"), Loader=_SafeLoader)
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot load the connector manifest: {exc}", file=str(path)) from exc
    if not isinstance(manifest, dict):
        raise ConfigError(
            "a connector manifest must be a YAML mapping (version, streams, spec, ...)", file=str(path)
        )
    return with_shared_definitions(manifest, str(path), shared_dir)


def with_shared_definitions(
    manifest: dict[str, Any], file: str, shared_dir: Path = SHARED_DIR
) -> dict[str, Any]:
    """`manifest` with the definitions of each shared file it references (directly or through
    another shared definition) added to its `definitions`; the input is not changed."""
    shared = _shared_files(shared_dir)
    own = manifest.get("definitions") or {}
    if not isinstance(own, dict):
        raise ConfigError("`definitions` must be a mapping", file=file, key="definitions")
    for fragment, definitions in shared.items():
        for name in sorted(own.keys() & definitions.keys()):
            raise ConfigError(
                f"the manifest defines `{name}`, which {_rel(fragment)} already defines for every "
                f'connector; reference it (`$ref: "{_PREFIX}{name}"`) and override keys beside '
                "the $ref instead of keeping a copy",
                file=file,
                line=_line(file, ("definitions", name)),
                key=f"definitions.{name}",
            )
    merged, used = dict(own), []
    pending = list(_referenced_names(manifest))
    while pending:
        name = pending.pop()
        for fragment, definitions in shared.items():
            if name in definitions and fragment not in used:
                used.append(fragment)
                merged.update(copy.deepcopy(definitions))
                pending.extend(_referenced_names(definitions))
    if not used:
        return manifest
    result = {**manifest, "definitions": merged}
    for fragment in used:
        _check_references(shared[fragment], result, fragment, file)
    return result


def _shared_files(shared_dir: Path) -> dict[Path, dict[str, Any]]:
    files: dict[Path, dict[str, Any]] = {}
    for path in sorted(shared_dir.glob("*.yaml")):
        try:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=_SafeLoader)
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot load a shared manifest fragment: {exc}", file=str(path)) from exc
        definitions = data.get("definitions") if isinstance(data, dict) else None
        if not isinstance(definitions, dict) or set(data) != {"definitions"}:
            raise ConfigError(
                "a shared manifest fragment holds one key, `definitions:`, a mapping "
                "of names to the pieces manifests reference",
                file=str(path),
            )
        for other, seen in files.items():
            for name in sorted(definitions.keys() & seen.keys()):
                raise ConfigError(
                    f"`{name}` is defined in {_rel(other)} too; shared names must be unique",
                    file=str(path),
                    line=_line(str(path), ("definitions", name)),
                    key=f"definitions.{name}",
                )
        files[path] = definitions
    return files


def _references(node: Any) -> Iterator[str]:
    """Every `#/...` reference in `node`: `$ref` values and the CDK's bare string references."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key not in _CONFIG_VALUE_KEYS:
                yield from _references(value)
    elif isinstance(node, list):
        for value in node:
            yield from _references(value)
    elif isinstance(node, str) and node.startswith("#/"):
        yield node


def _referenced_names(node: Any) -> Iterator[str]:
    """The top-level definition names `node` references."""
    for ref in _references(node):
        if ref.startswith(_PREFIX):
            yield ref.removeprefix(_PREFIX).split("/", 1)[0]


def _check_references(
    definitions: dict[str, Any], manifest: dict[str, Any], fragment: Path, file: str
) -> None:
    """A shared piece may reference what each manifest must define (its error messages);
    say which one is missing here rather than let the CDK fail on an undefined reference."""
    for ref in _references(definitions):
        node: Any = manifest
        for part in ref.removeprefix("#/").split("/"):
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                where = ref.removeprefix(_PREFIX).replace("/", ".")
                raise ConfigError(
                    f"the manifest uses {_rel(fragment)}, which reads `{ref}`; define "
                    f"`definitions.{where}` in the manifest (see the comment at the top of "
                    f"{_rel(fragment)} and docs/connectors.md)",
                    file=file,
                    key=f"definitions.{where}",
                )


def _line(file: str, loc: tuple[str, ...]) -> int | None:
    """The line of `loc` in `file`, for an error message (parsed again: errors are rare)."""
    try:
        return line_of(load_yaml_with_lines(Path(file)), loc)
    except ConfigError:
        return None


def _rel(path: Path) -> str:
    """`connectors/_shared/x.yaml`, the way a reader of the repository finds it."""
    return f"connectors/_shared/{path.name}"
