"""A run of one connection: open it, sync its streams, close it with an honest status."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime

from hub.context import HubContext
from hub.errors import ConfigError
from hub.mapping import load_mapping
from hub.pipeline.info import RunInfo, RunStatus, StreamInfo
from hub.store import runs
from hub.workspace import Connection, mapping_file

__all__ = ["validate_connection", "begin_run", "end_run", "run_status", "new_run_id", "failed_stream_info"]


def new_run_id() -> str:
    # Sortable by time at a glance, unique without coordination.
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


def validate_connection(ctx: HubContext, connection: str, dry_run: bool = False) -> Connection:
    """Load the workspace and every mapping the connection uses; raises ConfigError(file:line)."""
    conn = ctx.workspace().connection(connection)
    _mapping_versions(ctx, conn)
    _check_dry_run(ctx, conn, dry_run)
    return conn


def _check_dry_run(ctx: HubContext, conn: Connection, dry_run: bool) -> None:
    if dry_run and not conn.writes_back:
        raise ConfigError(f"--dry-run previews a write-back; connection `{conn.name}` writes "
                          "to a SQL destination", file=str(ctx.workspace_file),
                          key=f"connections.{conn.name}.destination.type")


def _mapping_versions(ctx: HubContext, conn: Connection) -> dict[str, str]:
    versions = {}
    for name, stream in conn.streams.items():
        path = mapping_file(ctx.workspace_dir, stream.mapping)
        if path is not None:  # the workspace loader reported a missing one already
            versions[name] = load_mapping(path).version
    return versions


def begin_run(ctx: HubContext, connection: str, full_refresh: bool, dry_run: bool = False) -> str:
    """Record a new run; a bad workspace or mapping file fails here, before any stream."""
    conn = ctx.workspace().connection(connection)
    _check_dry_run(ctx, conn, dry_run)
    _audit_changes(ctx, conn, _mapping_versions(ctx, conn))
    run_id = new_run_id()
    runs.start_run(ctx.engine, run_id, connection, full_refresh)
    ctx.audit.append("sync.start", target=connection,
                     details={"run_id": run_id, "full_refresh": full_refresh,
                              "dry_run": dry_run, "streams": list(conn.streams)})
    return run_id


def _audit_changes(ctx: HubContext, conn: Connection, mappings: dict[str, str]) -> None:
    """Workspace and mapping edits since the last run, as old and new hashes."""
    # The hash is of the file's text for this connection: references, not resolved secrets.
    config_hash = hashlib.sha256(conn.model_dump_json().encode()).hexdigest()
    before, _ = runs.record_connection(ctx.engine, conn.name, conn.source.label,
                                       conn.destination.type, config_hash, mappings)
    old_hash = before.config_hash if before else None
    if old_hash != config_hash:
        ctx.audit.append("workspace.change", target=conn.name,
                         details={"old_hash": old_hash, "new_hash": config_hash})
    old_versions = before.mapping_versions if before else {}
    for stream, version in mappings.items():
        if old_versions.get(stream) != version:
            ctx.audit.append("mapping.change", target=f"{conn.name}/{stream}",
                             details={"mapping": conn.streams[stream].mapping,
                                      "old_version": old_versions.get(stream),
                                      "new_version": version})


def run_status(streams: list[StreamInfo]) -> RunStatus:
    """succeeded only if every stream did; partial if some did; failed if none did."""
    ok = sum(1 for s in streams if s.status == "succeeded")
    if streams and ok == len(streams):
        return "succeeded"
    return "partial" if ok else "failed"


def end_run(ctx: HubContext, run_id: str, connection: str, full_refresh: bool,
            streams: list[StreamInfo], seconds: float, destination: str) -> RunInfo:
    status = run_status(streams)
    failed = [f"{s.stream}: {s.error}" for s in streams if s.status != "succeeded"]
    error = "; ".join(failed) or None
    runs.finish_run(ctx.engine, run_id, status, error)
    ctx.audit.append("sync.end", target=connection, details={
        "run_id": run_id, "status": status,
        "streams": {s.stream: {"status": s.status, "read": s.read, "written": s.written,
                               "dead_lettered": s.dead_lettered,
                               **({"rejected": s.writeback["rejected"]} if s.writeback else {})}
                    for s in streams}})
    return RunInfo(run_id=run_id, connection=connection, status=status,
                   full_refresh=full_refresh, seconds=seconds, destination=destination,
                   streams=streams, error=error)


def failed_stream_info(ctx: HubContext, run_id: str, stream: str, table: str,
                       error: str) -> StreamInfo:
    """The info of a stream whose task raised: its counts as the store recorded them."""
    info = StreamInfo(stream=stream, table=table, status="failed", error=error)
    found = runs.get_run(ctx.engine, run_id)
    row = next((s for s in found[1] if s.stream == stream), None) if found else None
    if row is not None:
        info.read, info.written = row.records_read, row.records_written
        info.dead_lettered, info.state = row.records_dead_lettered, row.state
        if row.started_at and row.ended_at:
            info.seconds = (row.ended_at - row.started_at).total_seconds()
    return info
