"""A run of one connection: open it, sync its streams, close it with an honest status."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from hub.apigov import failure_reason, stream_usage
from hub.context import HubContext
from hub.errors import ConfigError
from hub.governance.build import audit_policy_change
from hub.mapping import load_mapping
from hub.monitoring import observe_run
from hub.notify import notify_run
from hub.pipeline.info import RunInfo, RunStatus, StreamInfo
from hub.store import locks, runs
from hub.store.models import SyncRun
from hub.workspace import Connection, mapping_file

__all__ = [
    "validate_connection",
    "begin_run",
    "end_run",
    "fail_run",
    "run_status",
    "new_run_id",
    "failed_stream_info",
    "claim_connection",
    "reap_abandoned",
]


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
        raise ConfigError(
            f"--dry-run previews a write-back; connection `{conn.name}` writes to a SQL destination",
            file=str(ctx.workspace_file),
            key=f"connections.{conn.name}.destination.type",
        )


def _mapping_versions(ctx: HubContext, conn: Connection) -> dict[str, str]:
    versions = {}
    for name, stream in conn.streams.items():
        path = mapping_file(ctx.workspace_dir, stream.mapping)
        if path is not None:  # the workspace loader reported a missing one already
            versions[name] = load_mapping(path).version
    return versions


def begin_run(
    ctx: HubContext, connection: str, full_refresh: bool, dry_run: bool = False, run_id: str | None = None
) -> str:
    """Record a new run; a bad workspace or mapping file fails here, before any stream.

    `run_id` is the id its lease was taken with (claim_connection), so the lease names it."""
    conn = ctx.workspace().connection(connection)
    _check_dry_run(ctx, conn, dry_run)
    _audit_changes(ctx, conn, _mapping_versions(ctx, conn))
    audit_policy_change(ctx)
    run_id = run_id or new_run_id()
    runs.start_run(ctx.engine, run_id, connection, full_refresh)
    ctx.audit.append(
        "sync.start",
        target=connection,
        details={
            "run_id": run_id,
            "full_refresh": full_refresh,
            "dry_run": dry_run,
            "streams": list(conn.streams),
        },
    )
    return run_id


def _audit_changes(ctx: HubContext, conn: Connection, mappings: dict[str, str]) -> None:
    """Workspace and mapping edits since the last run, as old and new hashes."""
    # The hash is of the file's text for this connection: references, not resolved secrets.
    config_hash = hashlib.sha256(conn.model_dump_json().encode()).hexdigest()
    before, _ = runs.record_connection(
        ctx.engine, conn.name, conn.source.label, conn.destination.type, config_hash, mappings
    )
    old_hash = before.config_hash if before else None
    if old_hash != config_hash:
        ctx.audit.append(
            "workspace.change", target=conn.name, details={"old_hash": old_hash, "new_hash": config_hash}
        )
    old_versions = before.mapping_versions if before else {}
    for stream, version in mappings.items():
        if old_versions.get(stream) != version:
            ctx.audit.append(
                "mapping.change",
                target=f"{conn.name}/{stream}",
                details={
                    "mapping": conn.streams[stream].mapping,
                    "old_version": old_versions.get(stream),
                    "new_version": version,
                },
            )


def run_status(streams: list[StreamInfo]) -> RunStatus:
    """succeeded only if every stream did; partial if some did; failed if none did."""
    ok = sum(1 for s in streams if s.status == "succeeded")
    if streams and ok == len(streams):
        return "succeeded"
    return "partial" if ok else "failed"


def end_run(
    ctx: HubContext,
    run_id: str,
    connection: str,
    full_refresh: bool,
    streams: list[StreamInfo],
    seconds: float,
    destination: str,
) -> RunInfo:
    status = run_status(streams)
    failed = [f"{s.stream}: {s.error}" for s in streams if s.status != "succeeded"]
    error = "; ".join(failed) or None
    finished = runs.finish_run(ctx.engine, run_id, status, error)
    ctx.audit.append(
        "sync.end",
        target=connection,
        details={
            "run_id": run_id,
            "status": status,
            "streams": {
                s.stream: {
                    "status": s.status,
                    "read": s.read,
                    "written": s.written,
                    "dead_lettered": s.dead_lettered,
                    **({"rejected": s.writeback["rejected"]} if s.writeback else {}),
                }
                for s in streams
            },
        },
    )
    notify_run(ctx, finished)  # never raises: a webhook down is logged and audited
    info = RunInfo(
        run_id=run_id,
        connection=connection,
        status=status,
        full_refresh=full_refresh,
        seconds=seconds,
        destination=destination,
        streams=streams,
        error=error,
    )
    observe_run(ctx, info)  # counts into the series, anomalies audited and notified; never raises
    return info


def fail_run(ctx: HubContext, run_id: str, connection: str, exc: BaseException) -> None:
    """Close a run the flow could not finish (an error outside the stream tasks)."""
    error = f"the run stopped: {type(exc).__name__}: {exc}"
    finished = runs.finish_run(ctx.engine, run_id, "failed", error)
    ctx.audit.append(
        "sync.end", target=connection, details={"run_id": run_id, "status": "failed", "error": error}
    )
    notify_run(ctx, finished)


@contextmanager
def claim_connection(
    ctx: HubContext, connection: str, run_id: str, wait: float | None = 0.0
) -> Iterator[locks.Lease]:
    """Hold the connection's lease for the block (one run per connection at a time).

    Raises locks.ConnectionBusyError, before anything is recorded, when another live run holds
    it after `wait` seconds (None: wait without limit). Once taken, every other `running` run
    of the connection is dead (it would hold the lease otherwise) and is marked abandoned."""
    with locks.hold(ctx.engine, connection, run_id, wait) as (lease, taken_here):
        if taken_here:
            _abandon_dead_runs(ctx, connection, run_id, lease.previous, "sync.start")
        yield lease


def _abandon_dead_runs(
    ctx: HubContext, connection: str, keep: str, previous: locks.Holder | None, noticed_by: str
) -> list[str]:
    dead = [r for r in runs.running_runs(ctx.engine, connection) if r.id != keep]
    return _abandon(ctx, dead, previous, {"run_id": keep} if noticed_by == "sync.start" else noticed_by)


def _abandon(
    ctx: HubContext, dead: list[SyncRun], previous: locks.Holder | None, noticed_by: dict[str, str] | str
) -> list[str]:
    abandoned = []
    for run in dead:
        lease = previous if previous is not None and previous.run_id == run.id else None
        if lease is not None:
            beat = datetime.fromtimestamp(lease.heartbeat, UTC).strftime("%Y-%m-%d %H:%M:%S")
            how = (
                f"its process (host {lease.host}, pid {lease.pid}) stopped without ending "
                f"it; last heartbeat {beat} UTC"
            )
        else:
            how = "its process stopped without ending it (no live lease holds the connection)"
        by = noticed_by["run_id"] if isinstance(noticed_by, dict) else noticed_by
        if runs.abandon_run(ctx.engine, run.id, f"abandoned: {how}; noticed by {by}"):
            abandoned.append(run.id)
            ctx.audit.append(
                "sync.abandoned",
                target=run.connection,
                details={
                    "run_id": run.id,
                    "started_at": run.started_at.isoformat(),
                    "noticed_by": noticed_by,
                    **(
                        {"host": lease.host, "pid": lease.pid, "last_heartbeat": lease.heartbeat}
                        if lease is not None
                        else {}
                    ),
                },
            )
            found = runs.get_run(ctx.engine, run.id)
            if found is not None:
                notify_run(ctx, found[0])
    return abandoned


def reap_abandoned(ctx: HubContext, connection: str | None = None) -> list[str]:
    """Mark abandoned the `running` runs no live lease covers (its holder's heartbeat timed
    out, or its pid on this host is dead); `crossdock runs` calls it before it lists.

    The runs are read before the leases: a run is recorded only after its lease is taken and
    ends before the lease is released, so a run still `running` whose lease is not live by the
    second read is dead (and one that ended meanwhile keeps its status: abandon_run checks)."""
    candidates = runs.running_runs(ctx.engine, connection)
    if not candidates:
        return []
    live = locks.live_holders(ctx.engine)
    dead = [r for r in candidates if r.connection not in live or live[r.connection].run_id != r.id]
    return _abandon(ctx, dead, None, "crossdock runs")


def failed_stream_info(ctx: HubContext, run_id: str, stream: str, table: str, error: str) -> StreamInfo:
    """The info of a stream whose task raised: its counts as the store recorded them."""
    info = StreamInfo(stream=stream, table=table, status="failed", error=error)
    found = runs.get_run(ctx.engine, run_id)
    row = next((s for s in found[1] if s.stream == stream), None) if found else None
    if row is not None:
        info.read, info.written = row.records_read, row.records_written
        info.dead_lettered, info.state = row.records_dead_lettered, row.state
        if row.started_at and row.ended_at:
            info.seconds = (row.ended_at - row.started_at).total_seconds()
    info.api = stream_usage(ctx.engine, run_id, stream)  # API calls, waits, refusals, quota stop
    info.error = failure_reason(info.api) or error
    return info
