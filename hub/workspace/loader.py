"""Load and validate crossdock.yaml; every error names the file, line and key."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml
from croniter import croniter
from pydantic import ValidationError

from hub.errors import ConfigError
from hub.workspace.locate import (
    connector_dir,
    known_connectors,
    manifest_path,
    mapping_file,
    writeback_connectors,
    writeback_file,
)
from hub.workspace.model import Workspace
from hub.yaml_lines import LineDict, line_of, load_yaml_with_lines

__all__ = ["load_workspace", "connector_streams", "incremental_streams", "no_cursor_error"]


def load_workspace(path: Path) -> Workspace:
    path = path.resolve()
    if not path.is_file():
        raise ConfigError(
            "workspace file not found; run from the folder holding crossdock.yaml or pass --workspace",
            file=str(path),
        )
    raw = load_yaml_with_lines(path)
    if not isinstance(raw, LineDict):
        raise ConfigError(
            "the workspace must be a YAML mapping with a `connections:` key", file=str(path), line=1
        )
    data: dict[str, Any] = dict(raw)
    connections = raw.get("connections")
    if isinstance(connections, dict):
        data["connections"] = {
            name: ({**conn, "name": name} if isinstance(conn, dict) else conn)
            for name, conn in connections.items()
        }
    data["path"] = path
    try:
        workspace = Workspace.model_validate(data)
    except ValidationError as exc:
        raise _config_error(exc, raw, path) from exc
    _check_references(workspace, raw)
    return workspace


def _config_error(exc: ValidationError, raw: LineDict, path: Path) -> ConfigError:
    problems = []
    first_line = None
    for err in exc.errors():
        loc = tuple(err["loc"])
        line = line_of(raw, loc)
        first_line = first_line or line
        key = ".".join(str(p) for p in loc)
        msg = (
            "unknown key (check spelling; see docs/workspace.md)"
            if err["type"] == "extra_forbidden"
            else err["msg"]
        )
        problems.append(f"{path}:{line} `{key}`: {msg}")
    if len(problems) == 1:
        err0 = exc.errors()[0]
        key = ".".join(str(p) for p in err0["loc"])
        return ConfigError(problems[0].split(": ", 1)[1], file=str(path), line=first_line, key=key)
    return ConfigError("invalid workspace:\n  " + "\n  ".join(problems), file=str(path), line=first_line)


def _check_references(ws: Workspace, raw: LineDict) -> None:
    """Connectors, streams, mappings and schedules must point at things that exist."""
    root, file = ws.root, str(ws.path)
    for name, conn in ws.connections.items():
        base = ("connections", name)
        manifest = _source_manifest(ws, name, raw)
        # A package's streams are known only once it is installed and run: checked at sync.
        available = connector_streams(manifest) if manifest else None
        with_cursor = incremental_streams(manifest) if manifest else None
        for stream, scfg in conn.streams.items():
            sloc = (*base, "streams", stream)
            if available is not None and stream not in available:
                raise ConfigError(
                    f"source `{conn.source.label}` has no stream `{stream}`; it has: {', '.join(available)}",
                    file=file,
                    line=line_of(raw, sloc),
                    key=".".join(map(str, sloc)),
                )
            if mapping_file(root, scfg.mapping) is None:
                raise ConfigError(
                    f"mapping `{scfg.mapping}` not found (expected mappings/{scfg.mapping}.yaml)",
                    file=file,
                    line=line_of(raw, (*sloc, "mapping")),
                    key=".".join(map(str, (*sloc, "mapping"))),
                )
            if scfg.write_mode == "overwrite" and scfg.sync_mode == "incremental":
                raise ConfigError(
                    "write_mode `overwrite` replaces the table, so it needs "
                    "sync_mode `full_refresh`; use `merge` for incremental streams",
                    file=file,
                    line=line_of(raw, (*sloc, "write_mode")),
                    key=".".join(map(str, (*sloc, "write_mode"))),
                )
            cursorless = conn.source.warehouse is not None or (
                with_cursor is not None and stream not in with_cursor
            )
            if scfg.sync_mode == "incremental" and cursorless:
                raise _no_cursor(conn.source.label, stream, sloc, raw, file)
        _check_destination_type(ws, name, raw)
        _check_writeback_config(ws, name, raw)
        _check_cron(conn.schedule, (*base, "schedule"), raw, file)
    _check_cron(ws.identity.schedule, ("identity", "schedule"), raw, file)
    _check_governance(ws, raw)
    _check_policies(ws, raw)
    _check_api_accounts(ws, raw)


def _check_governance(ws: Workspace, raw: LineDict) -> None:
    """Retention rules name streams, entities and fields that exist; erasure systems are
    write-back connectors with a config they accept (hub/governance/)."""
    from hub.governance.retention import check_retention
    from hub.writeback.config import check_config_keys
    from hub.writeback.registry import writeback_class

    file = str(ws.path)
    _check_cron(ws.governance.retention.schedule, ("governance", "retention", "schedule"), raw, file)
    check_retention(ws, raw)
    for name, system in ws.governance.erasure.systems.items():
        loc = ("governance", "erasure", "systems", name)
        if writeback_file(ws.root, system.type) is None:
            raise ConfigError(
                f"unknown erasure system type `{system.type}`; "
                f"known: {', '.join(writeback_connectors(ws.root))}",
                file=file,
                line=line_of(raw, (*loc, "type")),
                key=".".join((*loc, "type")),
            )
        model = writeback_class(ws.root, system.type).Config
        check_config_keys(
            model, system.config, connector=system.type, file=file, raw=raw, loc=(*loc, "config")
        )


def _check_policies(ws: Workspace, raw: LineDict) -> None:
    """A policy that names an unknown purpose, region or field, or contradicts itself, stops the
    load at its line: nothing is read or sent under a policy that does not mean what it says."""
    gov = ws.governance
    if not (gov.governs or gov.regions or gov.pii or gov.consents or gov.stock):
        return  # no policies (the block may hold only retention and erasure)
    from hub.canonical import ENTITIES
    from hub.governance.config import governance_problems

    fields: dict[str, set[str]] = {}
    for name, conn in ws.connections.items():
        for scfg in conn.streams.values():
            path = mapping_file(ws.root, scfg.mapping)
            # the entity's name is enough here: the mapping itself is compiled when a run plans it
            entity = _mapping_entity(str(path), *_version(path)) if path else None
            if entity in ENTITIES:
                fields.setdefault(name, set()).update(f.name for f in ENTITIES[entity].fields)
    problems = governance_problems(
        ws.governance,
        {n: (c.destination.purpose, c.destination.region) for n, c in ws.connections.items()},
        fields,
        {n: list(c.streams) for n, c in ws.connections.items()},
    )
    if problems:
        loc, message = problems[0]
        more = f" (and {len(problems) - 1} more problem(s) in the policy)" if len(problems) > 1 else ""
        raise ConfigError(
            message + more, file=str(ws.path), line=line_of(raw, loc), key=".".join(map(str, loc))
        )


def no_cursor_error(path: Path, connection: str, stream: str, source: str) -> ConfigError:
    """The error for an incremental stream of `connection` whose source (a package, known
    only once run) offers no incremental mode; names crossdock.yaml's line of the stream."""
    raw = load_yaml_with_lines(path.resolve())
    return _no_cursor(source, stream, ("connections", connection, "streams", stream), raw, str(path))


def _no_cursor(source: str, stream: str, sloc: tuple[str, ...], raw: LineDict, file: str) -> ConfigError:
    """An incremental stream whose source keeps no cursor would be read whole on every run
    while the workspace says otherwise: refused, with the fix."""
    explicit = isinstance(raw_at := _at(raw, sloc), dict) and "sync_mode" in raw_at
    loc = (*sloc, "sync_mode") if explicit else sloc
    said = "says `sync_mode: incremental`" if explicit else "is incremental (the default sync_mode)"
    return ConfigError(
        f"stream `{stream}` {said}, but source `{source}` has no cursor for it (no incremental "
        f"mode): it can only be read whole; write `sync_mode: full_refresh` under the stream",
        file=file,
        line=line_of(raw, loc),
        key=".".join(map(str, loc)),
    )


def _at(raw: Any, loc: tuple[str, ...]) -> Any:
    for part in loc:
        raw = raw.get(part) if isinstance(raw, dict) else None
    return raw


def _check_destination_type(ws: Workspace, name: str, raw: LineDict) -> None:
    dest_type = ws.connections[name].destination.type
    if dest_type != "sql" and writeback_file(ws.root, dest_type) is None:
        known = ", ".join(["sql", *writeback_connectors(ws.root)])
        raise ConfigError(
            f"unknown destination type `{dest_type}`; known: {known} (a write-back connector "
            f"is connectors/<name>/writeback.py)",
            file=str(ws.path),
            line=line_of(raw, ("connections", name, "destination", "type")),
            key=f"connections.{name}.destination.type",
        )


def _check_writeback_config(ws: Workspace, name: str, raw: LineDict) -> None:
    """A write-back connector's config keys against its declared model; values may still be
    references, so they are type-checked when the connector is built."""
    dest = ws.connections[name].destination
    if dest.type != "sql":
        from hub.writeback.registry import check_writeback_config  # hub.writeback imports us

        check_writeback_config(ws.root, dest.type, dest.config, file=str(ws.path), raw=raw, connection=name)


def _check_api_accounts(ws: Workspace, raw: LineDict) -> None:
    from hub.apigov.config import check_accounts

    sides = {
        name: (conn.source.vendor, conn.destination.type if conn.writes_back else None)
        for name, conn in ws.connections.items()
    }
    check_accounts(ws.api_budgets, sides, raw, str(ws.path))


def _check_cron(schedule: str | None, loc: tuple[str, ...], raw: LineDict, file: str) -> None:
    if schedule is not None and not croniter.is_valid(schedule):
        raise ConfigError(
            f"schedule `{schedule}` is not a valid cron expression "
            "(five fields: minute hour day-of-month month day-of-week, e.g. '0 3 * * *')",
            file=file,
            line=line_of(raw, loc),
            key=".".join(loc),
        )


def _source_manifest(ws: Workspace, name: str, raw: LineDict) -> Path | None:
    """The manifest.yaml a connection's source runs, checked to exist; None for a package."""
    source, base = ws.connections[name].source, ("connections", name, "source")
    if source.connector:
        cdir = connector_dir(ws.root, source.connector)
        if cdir is None:
            known = ", ".join(known_connectors(ws.root)) or "none"
            raise ConfigError(
                f"unknown connector `{source.connector}`; known connectors: {known}",
                file=str(ws.path),
                line=line_of(raw, (*base, "connector")),
                key=f"connections.{name}.source.connector",
            )
        return cdir / "manifest.yaml"
    if source.manifest:
        path = manifest_path(ws.root, source.manifest)
        if not path.is_file():
            raise ConfigError(
                f"manifest `{source.manifest}` not found (looked for {path})",
                file=str(ws.path),
                line=line_of(raw, (*base, "manifest")),
                key=f"connections.{name}.source.manifest",
            )
        return path
    return None


def connector_streams(manifest_path: Path) -> list[str]:
    """Stream names a declarative manifest declares, without building the source."""
    return list(_manifest_streams(manifest_path))


def incremental_streams(manifest_path: Path) -> set[str]:
    """The manifest's streams that keep a cursor (`incremental_sync`, or a StateDelegatingStream
    with an incremental stream); the others can only be read whole."""
    return {
        name
        for name, stream in _manifest_streams(manifest_path).items()
        if stream.get("incremental_sync") or stream.get("incremental_stream")
    }


def _manifest_streams(manifest_path: Path) -> dict[str, dict[str, Any]]:
    stat = manifest_path.stat()
    manifest = _parsed_manifest(str(manifest_path), stat.st_mtime_ns, stat.st_size)
    streams: dict[str, dict[str, Any]] = {}
    for stream in manifest.get("streams", []):
        if isinstance(stream, dict) and "$ref" in stream:
            # Keys beside a $ref override the referenced ones (a shared stream, its own name).
            stream = {
                **_resolve_ref(manifest, stream["$ref"]),
                **{k: v for k, v in stream.items() if k != "$ref"},
            }
        name = stream.get("name") if isinstance(stream, dict) else None
        if name:
            streams[name] = stream
    return streams


# libyaml's parser when PyYAML has it (10x the pure-Python one on the big manifests).
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _version(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_size


@functools.lru_cache(maxsize=256)
def _mapping_entity(path: str, _mtime_ns: int, _size: int) -> Any:
    """A mapping file's entity name, read once per process and version of the file."""
    return (yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_SafeLoader) or {}).get("entity")


@functools.lru_cache(maxsize=64)
def _parsed_manifest(path: str, _mtime_ns: int, _size: int) -> Any:
    """A manifest parsed once per process and version: each command loads the workspace
    (and so every connector's manifest) more than once; read-only to its callers."""
    return yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_SafeLoader)


def _resolve_ref(manifest: dict[str, Any], ref: str) -> Any:
    node: Any = manifest
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node
