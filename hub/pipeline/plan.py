"""Turn a workspace connection into runnable stream jobs: resolve config, load mapping."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from hub.apigov import RunKey
from hub.audit import AuditLog
from hub.connections import destination_config, source_for, stream_mapping, writeback_for
from hub.context import HubContext, ProgressFn
from hub.destinations import Destination, open_destination
from hub.errors import ConfigError
from hub.governance.build import governor_for
from hub.governance.step import Governor
from hub.governance.tombstones import Tombstones
from hub.mapping import CompiledMapping
from hub.pipeline.state_scope import destination_fingerprint
from hub.sources import Source
from hub.workspace import Connection, StreamConfig
from hub.workspace.loader import no_cursor_error
from hub.writeback import WritebackDestination

__all__ = ["StreamJob", "plan_stream"]


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
    progress: ProgressFn | None = None  # called with the stream's counts after each batch
    destination_key: str | None = None  # the state's destination fingerprint (state_scope.py)
    since: str | None = None  # a backfill: read from this date (hub/pipeline/select.py)
    governor: Governor | None = None  # the govern step's policies (hub/governance); None: ungoverned
    # people `crossdock erase` forgot: their rows are not written to the warehouse again (a
    # write-back checks them itself, in hub/writeback/destination.py); None: a write-back
    erased: Tombstones | None = None

    @property
    def incremental(self) -> bool:
        return self.config.sync_mode == "incremental" and not self.full_refresh


def plan_stream(
    ctx: HubContext,
    conn: Connection,
    stream: str,
    run_id: str,
    full_refresh: bool,
    dry_run: bool = False,
    since: str | None = None,
) -> StreamJob:
    scfg = conn.streams[stream]
    mapping = stream_mapping(ctx, conn, stream)
    source = source_for(ctx, conn, RunKey(run_id, stream))
    if conn.source.package and scfg.sync_mode == "incremental":  # others: checked at load
        _check_cursor(ctx, conn, stream, source)
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
        source=source,
        mapping=mapping,
        open_destination=open_,
        engine=ctx.engine,
        audit=ctx.audit,
        full_refresh=full_refresh,
        pseudonym_key=ctx.keyring.pseudonym_key(),
        dry_run=dry_run,
        progress=ctx.progress,
        destination_key=destination_fingerprint(
            conn.destination.type, destination_config(ctx, conn), conn.table_for(stream)
        ),
        since=since,
        governor=governor_for(ctx, conn, stream, mapping),
        erased=None if conn.writes_back else Tombstones.load(ctx.engine, ctx.keyring.pseudonym_key()),
    )


def _check_cursor(ctx: HubContext, conn: Connection, stream: str, source: Source) -> None:
    """A package's catalog is known only once it runs: an incremental stream it cannot read
    incrementally is refused before any record is read (not read whole, silently)."""
    for entry in source.discover():
        if entry["name"] == stream and "incremental" not in entry.get("sync_modes", []):
            raise no_cursor_error(ctx.workspace_file, conn.name, stream, conn.source.label)


def _writeback_opener(
    ctx: HubContext, conn: Connection, stream: str, run_id: str, mapping: CompiledMapping, dry_run: bool
) -> Callable[[], Destination]:
    """Built now, so a bad config or a mapping for another entity fails before any read."""
    api = writeback_for(ctx, conn, RunKey(run_id, stream))
    if mapping.entity.name != api.entity:
        api.close()
        raise ConfigError(
            f"mapping `{conn.streams[stream].mapping}` targets `{mapping.entity.name}`, but "
            f"{conn.destination.type} write-back takes `{api.entity}` rows",
            file=str(ctx.workspace_file),
            key=f"connections.{conn.name}.streams.{stream}.mapping",
        )

    def open_() -> Destination:
        return WritebackDestination(
            api,
            name=conn.destination.type,
            engine=ctx.engine,
            connection=conn.name,
            stream=stream,
            run_id=run_id,
            pseudonym_key=ctx.keyring.pseudonym_key(),
            dry_run=dry_run,
            erased=Tombstones.load(ctx.engine, ctx.keyring.pseudonym_key()),
        )

    return open_
