"""Prefect flow: sync one connection, one task per stream.

Thin on purpose: the work is in hub.pipeline. A failing stream does not stop
the others; the run is then marked partial. Only transient errors are retried.

The streams run concurrently, at most `max_parallel_streams` (crossdock.yaml, per
connection) at a time, on a thread pool of the flow's own: each stream keeps its own
checkpoint, and its source reads in a forked process (hub/sources/_child.py), so two
streams use two cores. The tasks see the caller's bound hub context (progress callback
and all): the thread pool runs each task in a copy of the submitting thread's contextvars.
"""

from __future__ import annotations

import logging
import time
from typing import Any, cast

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture
from prefect.states import State
from prefect.task_runners import ThreadPoolTaskRunner

from flows.artifacts import publish_failure, publish_run, sync_run_name, tag_run
from hub.connections import destination_config
from hub.context import HubContext, for_workspace
from hub.errors import ConfigError, RetriableError
from hub.logs import log_fields, use_log_format_from_env
from hub.pipeline import (
    RunInfo,
    StreamInfo,
    begin_run,
    end_run,
    failed_stream_info,
    plan_stream,
    sync_stream,
)
from hub.pipeline.reach import reachable_or_fail
from hub.pipeline.run import claim_connection, fail_run, new_run_id
from hub.pipeline.select import select_streams, since_state
from hub.redaction import display_url
from hub.store import runs
from hub.workspace import Connection
from hub.workspace.references import check_references

__all__ = ["sync_connection", "sync_stream_task"]


def _is_transient(_task: Any, _run: Any, state: State) -> bool:
    try:
        state.result()
    except RetriableError:
        return True
    except Exception:  # anything else is not worth retrying
        return False
    return False


@task(
    name="sync-stream",
    retries=2,
    retry_delay_seconds=5,
    retry_condition_fn=_is_transient,
    cache_policy=NO_CACHE,
    task_run_name="sync-{connection}-{stream}",
)
def sync_stream_task(
    workspace_dir: str,
    connection: str,
    stream: str,
    run_id: str,
    full_refresh: bool,
    dry_run: bool = False,
    since: str | None = None,
) -> StreamInfo:
    ctx = for_workspace(workspace_dir)  # the CLI's context (progress bar and all) when it bound one
    conn = ctx.workspace().connection(connection)
    with log_fields(run_id=run_id, connection=connection, stream=stream):
        job = plan_stream(ctx, conn, stream, run_id, full_refresh, dry_run, since)
        return sync_stream(job)


@flow(name="sync-connection", flow_run_name=sync_run_name)  # sync-NAME-TRIGGER (flows/artifacts.py)
def sync_connection(
    name: str,
    full_refresh: bool = False,
    workspace_dir: str = ".",
    dry_run: bool = False,
    run_id: str | None = None,
    wait: float | None = 0.0,
    streams: list[str] | None = None,
    since: str | None = None,
) -> RunInfo:
    """Sync every stream of connection `name`; returns the run's summary (its JSON form,
    `to_dict()`, is what `crossdock sync --json` prints).

    `dry_run` (write-back connections): count what would be created, updated and deleted,
    and send nothing. The run holds the connection's lease from before it is recorded to
    after it ends: a second run raises ConnectionBusyError at once, or after `wait` seconds
    (None: waits without limit). `run_id`: the id a caller in this process (the CLI) took the
    lease with already. `streams`: only these (default: all). `since`: a backfill, the
    incremental streams read from this date (hub/pipeline/select.py says which can)."""
    use_log_format_from_env()  # CROSSDOCK_LOG_FORMAT=json on a worker: JSON lines (hub/logs.py)
    tag_run(f"connection:{name}")
    ctx = for_workspace(workspace_dir)
    conn = ctx.workspace().connection(name)
    check_references(ctx, connection=name)  # before the run is recorded
    selected = select_streams(conn, streams, file=str(ctx.workspace_file))
    if since is not None:
        _check_since(ctx, conn, selected, since, full_refresh)
    run_id = run_id or new_run_id()
    with log_fields(run_id=run_id, connection=name), claim_connection(ctx, name, run_id, wait):
        started = time.perf_counter()
        begin_run(ctx, name, full_refresh, dry_run, run_id=run_id)
        try:
            reachable_or_fail(ctx, conn, dry_run)  # a dead API: seconds, not the connector's minutes
            infos: list[StreamInfo] = []
            runner: ThreadPoolTaskRunner[Any]
            with ThreadPoolTaskRunner(max_workers=conn.max_parallel_streams) as runner:
                futures: list[PrefectFuture[Any]] = [
                    runner.submit(
                        cast(Any, sync_stream_task),  # Prefect's stubs type submit for async tasks
                        {
                            "workspace_dir": str(ctx.workspace_dir),
                            "connection": name,
                            "stream": stream,
                            "run_id": run_id,
                            "full_refresh": full_refresh,
                            "dry_run": dry_run,
                            "since": since,
                        },
                    )
                    for stream in selected
                ]
                for stream, future in zip(selected, futures, strict=True):
                    future.wait()  # a failed stream is a failed state, not an exception here
                    infos.append(_stream_info(ctx, run_id, future.state, stream, conn.table_for(stream)))
            destination = display_url(str(destination_config(ctx, conn).get("url", conn.destination.type)))
            if conn.writes_back:
                destination = conn.destination.type
            info = end_run(ctx, run_id, name, full_refresh, infos, time.perf_counter() - started, destination)
        except Exception as exc:
            try:  # not left `running`: it did not die, it failed
                fail_run(ctx, run_id, name, exc)
            except Exception:  # the store itself is down: the next run abandons it
                logging.getLogger(__name__).exception("could not record run %s as failed", run_id)
            publish_failure(name, run_id, exc)
            raise
    publish_run(ctx, info)
    return info


def _check_since(
    ctx: HubContext, conn: Connection, streams: list[str], since: str, full_refresh: bool
) -> None:
    """A backfill that cannot be done is refused before the run is recorded."""
    if full_refresh:
        raise ConfigError("--since and --full-refresh exclude each other: a full refresh reads everything")
    for stream in streams:
        if conn.streams[stream].sync_mode != "incremental":
            raise ConfigError(
                f"--since: stream `{stream}` is full_refresh (it reads everything each run); "
                f"leave it out with --streams",
                file=str(ctx.workspace_file),
                key=f"connections.{conn.name}.streams.{stream}.sync_mode",
            )
        saved = runs.load_state(ctx.engine, conn.name, stream)
        since_state(saved.state if saved else None, since, connection=conn.name, stream=stream)


def _stream_info(ctx: HubContext, run_id: str, state: State, stream: str, table: str) -> StreamInfo:
    if state.is_completed():
        return cast(StreamInfo, state.result())
    try:
        state.result()
        error = state.message or "stream did not complete"
    except Exception as exc:  # the stream's failure becomes its info
        error = str(exc)
    return failed_stream_info(ctx, run_id, stream, table, error)
