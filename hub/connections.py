"""The one place a workspace connection becomes live parts: its source, its destination
(a SQL engine or a write-back connector) and their resolved configs.

The pipeline, the CLI (`check`, `discover`) and identity stitching all build
connections here, so `${env:}` / `${secret:}` resolution, relative warehouse
paths and secret redaction happen the same way everywhere.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeGuard

from hub.apigov import ApiDeclaration, ApiGate, RunKey, build_gate, declaration_for
from hub.apigov.declared import declaration_in
from hub.apigov.egress import Side
from hub.context import HubContext
from hub.errors import ConfigError
from hub.mapping import CompiledMapping, load_mapping
from hub.redaction import register_secret
from hub.sources import PackageSource, Source
from hub.sources.warehouse import WarehouseSource
from hub.workspace import (
    Connection,
    DestinationConfig,
    SourceKind,
    connector_dir,
    manifest_path,
    mapping_file,
    resolve_sqlite_url,
)
from hub.writeback import WritebackApi, load_writeback

if TYPE_CHECKING:  # the CDK (seconds of imports) loads only for a connection that uses it
    from hub.sources.declarative import DeclarativeSource

__all__ = [
    "source_for",
    "stream_mapping",
    "destination_config",
    "resolved_destination_config",
    "writeback_for",
]


def source_for(ctx: HubContext, conn: Connection, run: RunKey | None = None) -> Source:
    """The connection's source, built with its resolved config; its secrets are redacted
    from here on. A declarative source's requests pass the API gate, whose counts go to
    `run` (its run and stream) when given."""
    source = _SOURCE_KINDS[conn.source.kind](ctx, conn)
    if _is_declarative(source):  # the CDK kinds
        folder = source.manifest_path.parent
        vendor = conn.source.connector or folder.name
        declared = (
            declaration_for(ctx.workspace_dir, vendor) if conn.source.connector else declaration_in(folder)
        )
    elif isinstance(source, PackageSource):  # its own process: the gate is served to it
        # `airbyte-source-hubspot` shares connectors/hubspot/api.yaml (hosts, limits) with ours
        vendor = conn.source.vendor or source.package
        declared = declaration_for(ctx.workspace_dir, vendor)
    if _is_declarative(source) or isinstance(source, PackageSource):
        gate = _gate(
            ctx, conn, "read", vendor, declared, source.config.get("base_url"), source.secret_values(), run
        )
        source.govern(gate)
    for value in source.secret_values():  # e.g. a token given through ${env:...}
        register_secret(value)
    return source


def stream_mapping(ctx: HubContext, conn: Connection, stream: str) -> CompiledMapping:
    """The compiled mapping of one stream of the connection (ConfigError naming the key if its
    file is gone since the workspace loaded)."""
    scfg = conn.streams[stream]
    path = mapping_file(ctx.workspace_dir, scfg.mapping)
    if path is None:
        raise ConfigError(
            f"mapping `{scfg.mapping}` not found (expected mappings/{scfg.mapping}.yaml)",
            file=str(ctx.workspace_file),
            key=f"connections.{conn.name}.streams.{stream}.mapping",
        )
    return load_mapping(path)


def _is_declarative(source: Source) -> TypeGuard[DeclarativeSource]:
    """Without importing the CDK: a DeclarativeSource exists only once its module is loaded."""
    module = sys.modules.get("hub.sources.declarative")
    return module is not None and isinstance(source, module.DeclarativeSource)


def _source_config(ctx: HubContext, conn: Connection) -> dict[str, Any]:
    config: dict[str, Any] = ctx.resolve(
        conn.source.config,
        where=f"connections.{conn.name}.source.config",
        secret=lambda name: ctx.secret(name, used_by=conn.name),
    )
    return config


def _warehouse(ctx: HubContext, conn: Connection) -> Source:
    url = ctx.resolve(
        conn.source.warehouse,
        where=f"connections.{conn.name}.source.warehouse",
        secret=lambda name: ctx.secret(name, used_by=conn.name),
    )
    return WarehouseSource(resolve_sqlite_url(url, ctx.workspace_dir), list(conn.streams))


def _package(ctx: HubContext, conn: Connection) -> Source:
    return PackageSource(conn.source.package or "", _source_config(ctx, conn), ctx.connectors_dir)


def _manifest(ctx: HubContext, conn: Connection) -> Source:
    from hub.sources.declarative import DeclarativeSource

    return DeclarativeSource(
        manifest_path(ctx.workspace_dir, conn.source.manifest or ""), _source_config(ctx, conn)
    )


def _connector(ctx: HubContext, conn: Connection) -> Source:
    cdir = connector_dir(ctx.workspace_dir, conn.source.connector or "")
    if cdir is None:  # the workspace loader already checked; the folder vanished since
        raise ConfigError(f"connector `{conn.source.connector}` not found", file=str(ctx.workspace_file))
    from hub.sources.declarative import DeclarativeSource

    return DeclarativeSource(cdir / "manifest.yaml", _source_config(ctx, conn))


# Source kind (the key a connection's `source:` names) -> how to build it. A new kind of
# source is one builder here and one field in hub/workspace/model.py's SourceConfig.
_SOURCE_KINDS: dict[SourceKind, Callable[[HubContext, Connection], Source]] = {
    "connector": _connector,
    "manifest": _manifest,
    "package": _package,
    "warehouse": _warehouse,
}


def resolved_destination_config(
    ctx: HubContext, dest: DestinationConfig, *, where: str, used_by: str
) -> dict[str, Any]:
    """A destination's config with its references resolved and a relative SQLite or DuckDB
    path made relative to the workspace folder."""
    config: dict[str, Any] = ctx.resolve(
        dest.config, where=where, secret=lambda name: ctx.secret(name, used_by=used_by)
    )
    if "url" in config:
        config["url"] = resolve_sqlite_url(config["url"], ctx.workspace_dir)
    return config


def destination_config(ctx: HubContext, conn: Connection) -> dict[str, Any]:
    return resolved_destination_config(
        ctx, conn.destination, where=f"connections.{conn.name}.destination.config", used_by=conn.name
    )


def writeback_for(ctx: HubContext, conn: Connection, run: RunKey | None = None) -> WritebackApi:
    """The connection's write-back connector, built with its resolved config; its secrets
    are redacted from here on, and its requests pass the API gate (counts to `run`)."""
    config = destination_config(ctx, conn)
    api = load_writeback(
        ctx.workspace_dir,
        conn.destination.type,
        config,
        workspace_file=ctx.workspace_file,
        connection=conn.name,
    )
    for value in api.secret_values():
        register_secret(value)
    vendor = conn.destination.type
    declared = declaration_for(ctx.workspace_dir, vendor)
    api.govern(_gate(ctx, conn, "write", vendor, declared, config.get("base_url"), api.secret_values(), run))
    return api


def _gate(
    ctx: HubContext,
    conn: Connection,
    side: Side,
    vendor: str,
    declared: ApiDeclaration,
    base_url: object,
    secrets: list[str],
    run: RunKey | None,
) -> ApiGate:
    return build_gate(
        section=ctx.workspace().api_budgets,
        declaration=declared,
        connection=conn.name,
        vendor=vendor,
        side=side,
        base_url=base_url if isinstance(base_url, str) else None,
        secrets=secrets,
        key=ctx.keyring.pseudonym_key(),
        engine=ctx.engine,
        run=run,
    )
