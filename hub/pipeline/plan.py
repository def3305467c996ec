"""Turn a workspace connection into runnable stream jobs: resolve config, load mapping."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine

from hub.audit import AuditLog
from hub.context import HubContext
from hub.destinations import Destination, open_destination
from hub.errors import ConfigError
from hub.mapping import CompiledMapping, load_mapping
from hub.redaction import register_secret
from hub.sources import DeclarativeSource, PackageSource, Source
from hub.sources.warehouse import WarehouseSource
from hub.workspace import (
    Connection,
    StreamConfig,
    connector_dir,
    manifest_path,
    mapping_file,
    resolve_config,
    resolve_sqlite_url,
)
from hub.writeback import WritebackApi, WritebackDestination, load_writeback

__all__ = ["StreamJob", "plan_stream", "source_for", "destination_config", "writeback_for"]


@dataclass
class StreamJob:
    """Everything one stream sync needs, resolved."""

    run_id: str
    connection: str
    stream: str
    config: StreamConfig
    table: str
    source: Source
    mapping: CompiledMapping
    open_destination: Callable[[], Destination]
    engine: Engine
    audit: AuditLog
    full_refresh: bool
    pseudonym_key: bytes  # keys the hashes that replace personal data in dead letters
    dry_run: bool = False  # write-back only: count what would be sent, send nothing

    @property
    def incremental(self) -> bool:
        return self.config.sync_mode == "incremental" and not self.full_refresh


def source_for(ctx: HubContext, conn: Connection) -> Source:
    def secret(name: str) -> str:
        return ctx.secret(name, used_by=conn.name)

    if conn.source.warehouse:
        url = resolve_config(conn.source.warehouse, where=f"connections.{conn.name}.source.warehouse",
                             secret=secret)
        return WarehouseSource(resolve_sqlite_url(url, ctx.workspace_dir), list(conn.streams))
    config = resolve_config(conn.source.config, where=f"connections.{conn.name}.source.config",
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


def writeback_for(ctx: HubContext, conn: Connection) -> WritebackApi:
    """The connection's write-back connector, built with its resolved config; its secrets
    are redacted from here on."""
    api = load_writeback(ctx.workspace_dir, conn.destination.type, destination_config(ctx, conn),
                         workspace_file=ctx.workspace_file, connection=conn.name)
    for value in api.secret_values():
        register_secret(value)
    return api


def destination_config(ctx: HubContext, conn: Connection) -> dict[str, Any]:
    config = resolve_config(conn.destination.config,
                            where=f"connections.{conn.name}.destination.config",
                            secret=lambda name: ctx.secret(name, used_by=conn.name))
    if "url" in config:
        config["url"] = resolve_sqlite_url(config["url"], ctx.workspace_dir)
    return config


def plan_stream(ctx: HubContext, conn: Connection, stream: str, run_id: str,
                full_refresh: bool, dry_run: bool = False) -> StreamJob:
    scfg = conn.streams[stream]
    path = mapping_file(ctx.workspace_dir, scfg.mapping)
    if path is None:
        raise ConfigError(f"mapping `{scfg.mapping}` not found", file=str(ctx.workspace_file),
                          key=f"connections.{conn.name}.streams.{stream}.mapping")
    mapping = load_mapping(path)
    open_: Callable[[], Destination]
    if conn.writes_back:
        open_ = _writeback_opener(ctx, conn, stream, run_id, mapping, dry_run)
    else:
        dest_type, dest_config = conn.destination.type, destination_config(ctx, conn)
        open_ = lambda: open_destination(dest_type, dest_config)  # noqa: E731
    return StreamJob(
        run_id=run_id,
        connection=conn.name,
        stream=stream,
        config=scfg,
        table=conn.table_for(stream),
        source=source_for(ctx, conn),
        mapping=mapping,
        open_destination=open_,
        engine=ctx.engine,
        audit=ctx.audit,
        full_refresh=full_refresh,
        pseudonym_key=ctx.keyring.pseudonym_key(),
        dry_run=dry_run,
    )


def _writeback_opener(ctx: HubContext, conn: Connection, stream: str, run_id: str,
                      mapping: CompiledMapping, dry_run: bool) -> Callable[[], Destination]:
    """Built now, so a bad config or a mapping for another entity fails before any read."""
    api = writeback_for(ctx, conn)
    if mapping.entity.name != api.entity:
        api.close()
        raise ConfigError(
            f"mapping `{conn.streams[stream].mapping}` targets `{mapping.entity.name}`, but "
            f"{conn.destination.type} write-back takes `{api.entity}` rows",
            file=str(ctx.workspace_file), key=f"connections.{conn.name}.streams.{stream}.mapping")

    def open_() -> Destination:
        return WritebackDestination(
            api, name=conn.destination.type, engine=ctx.engine, connection=conn.name,
            stream=stream, run_id=run_id, pseudonym_key=ctx.keyring.pseudonym_key(),
            dry_run=dry_run)

    return open_
