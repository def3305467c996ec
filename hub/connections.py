"""The one place a workspace connection becomes live parts: its source, its destination
(a SQL engine or a write-back connector) and their resolved configs.

The pipeline, the CLI (`check`, `discover`) and identity stitching all build
connections here, so `${env:}` / `${secret:}` resolution, relative warehouse
paths and secret redaction happen the same way everywhere.
"""

from __future__ import annotations

from typing import Any

from hub.context import HubContext
from hub.errors import ConfigError
from hub.redaction import register_secret
from hub.sources import DeclarativeSource, PackageSource, Source
from hub.sources.warehouse import WarehouseSource
from hub.workspace import (
    Connection,
    DestinationConfig,
    connector_dir,
    manifest_path,
    resolve_sqlite_url,
)
from hub.writeback import WritebackApi, load_writeback

__all__ = ["source_for", "destination_config", "resolved_destination_config", "writeback_for"]


def source_for(ctx: HubContext, conn: Connection) -> Source:
    """The connection's source, built with its resolved config; its secrets are redacted
    from here on."""

    def secret(name: str) -> str:
        return ctx.secret(name, used_by=conn.name)

    if conn.source.warehouse:
        url = ctx.resolve(conn.source.warehouse, where=f"connections.{conn.name}.source.warehouse",
                          secret=secret)
        return WarehouseSource(resolve_sqlite_url(url, ctx.workspace_dir), list(conn.streams))
    config = ctx.resolve(conn.source.config, where=f"connections.{conn.name}.source.config",
                         secret=secret)
    source: Source
    if conn.source.package:
        source = PackageSource(conn.source.package, config, ctx.connectors_dir)
    elif conn.source.manifest:
        source = DeclarativeSource(manifest_path(ctx.workspace_dir, conn.source.manifest), config)
    else:
        cdir = connector_dir(ctx.workspace_dir, conn.source.connector or "")
        if cdir is None:  # the workspace loader already checked; the folder vanished since
            raise ConfigError(f"connector `{conn.source.connector}` not found",
                              file=str(ctx.workspace_file))
        source = DeclarativeSource(cdir / "manifest.yaml", config)
    for value in source.secret_values():  # e.g. a token given through ${env:...}
        register_secret(value)
    return source


def resolved_destination_config(ctx: HubContext, dest: DestinationConfig, *, where: str,
                                used_by: str) -> dict[str, Any]:
    """A destination's config with its references resolved and a relative SQLite or DuckDB
    path made relative to the workspace folder."""
    config: dict[str, Any] = ctx.resolve(dest.config, where=where,
                                         secret=lambda name: ctx.secret(name, used_by=used_by))
    if "url" in config:
        config["url"] = resolve_sqlite_url(config["url"], ctx.workspace_dir)
    return config


def destination_config(ctx: HubContext, conn: Connection) -> dict[str, Any]:
    return resolved_destination_config(ctx, conn.destination,
                                       where=f"connections.{conn.name}.destination.config",
                                       used_by=conn.name)


def writeback_for(ctx: HubContext, conn: Connection) -> WritebackApi:
    """The connection's write-back connector, built with its resolved config; its secrets
    are redacted from here on."""
    api = load_writeback(ctx.workspace_dir, conn.destination.type, destination_config(ctx, conn))
    for value in api.secret_values():
        register_secret(value)
    return api
