"""The typer application and its commands."""

from __future__ import annotations

from dataclasses import replace
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from hub.cli.common import EXIT_FOR_STATUS, handle_errors, hub_context, start_invocation
from hub.cli.render import (
    console,
    err_console,
    print_json,
    print_results,
    print_run_summary,
    print_runs,
)
from hub.context import HubContext, bound
from hub.errors import HubError
from hub.workspace import Connection
from hub.workspace.references import check_references

__all__ = ["app"]

app = typer.Typer(
    help="Crossdock: customer-data integration hub.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


class LogFormat(str, Enum):
    text = "text"
    json = "json"


@app.callback()
def _root(
    workspace: Annotated[
        Path | None,
        typer.Option(
            "--workspace",
            "-w",
            help="folder holding crossdock.yaml (default: current folder)",
            envvar="CROSSDOCK_WORKSPACE",
        ),
    ] = None,
    log_format: Annotated[
        LogFormat,
        typer.Option(
            "--log-format",
            help="json: log one JSON object a line on stderr (docs/operations.md)",
            envvar="CROSSDOCK_LOG_FORMAT",
            case_sensitive=False,
        ),
    ] = LogFormat.text,
) -> None:
    from hub.logs import use_log_format

    use_log_format(log_format.value)
    start_invocation(workspace)


@app.command()
@handle_errors
def sync(
    connection: str,
    full_refresh: Annotated[
        bool, typer.Option("--full-refresh", help="ignore saved state and read everything")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable summary")] = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="write-back: show what would be created, updated and deleted; call no API"
        ),
    ] = False,
    wait: Annotated[
        bool,
        typer.Option(
            "--wait",
            help="if another run holds the connection, wait for it to end (default: refuse at once, exit 4)",
        ),
    ] = False,
    wait_timeout: Annotated[
        float | None,
        typer.Option(
            "--wait-timeout", metavar="S", help="with --wait: give up (exit 4) after S seconds", min=0
        ),
    ] = None,
    streams: Annotated[
        str | None,
        typer.Option("--streams", metavar="A,B", help="sync only these streams (comma-separated)"),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="DATE",
            help="backfill: incremental streams read from DATE (YYYY-MM-DD or ISO date-time) this run",
        ),
    ] = None,
) -> None:
    """Sync one connection through the Prefect flow (one task per stream; up to the
    connection's `max_parallel_streams` at a time).

    One run per connection at a time: a second one exits 4 naming the run that holds it."""
    from hub.cli import prefect_server
    from hub.cli.progress import live_progress
    from hub.pipeline import validate_connection
    from hub.pipeline.run import claim_connection, new_run_id
    from hub.pipeline.select import parse_since, select_streams

    ctx = hub_context()
    check_references(ctx, connection=connection)  # a missing secret: exit 2 before any run
    conn = validate_connection(ctx, connection, dry_run)  # a bad name or file fails before Prefect starts
    names = [n.strip() for n in streams.split(",") if n.strip()] if streams is not None else None
    select_streams(conn, names, file=str(ctx.workspace_file))  # an unknown stream too
    if since is not None:
        parse_since(since)
    prefect_server.start_early()  # overlaps what follows (hub/cli/prefect_server.py)
    ctx.engine  # noqa: B018 - and so does a store that cannot open: one line, not a flow's traceback
    run_id = new_run_id()
    # Taken here, before Prefect starts, so a busy connection is one line and exit 4, not a
    # failed flow run; the flow finds this process's lease for run_id and keeps it.
    lock_wait = wait_timeout if wait or wait_timeout is not None else 0.0  # None: no limit
    with (
        claim_connection(ctx, connection, run_id, lock_wait),
        live_progress(not as_json) as progress,
        bound(replace(ctx, progress=progress)) as run_ctx,
    ):
        _refuse_dead_api(run_ctx, conn, run_id, full_refresh, dry_run)  # before Prefect starts
        from flows.sync import sync_connection  # Prefect's imports, while its server starts

        _warm_up(conn)
        _prefect_ready(run_ctx, conn, run_id, full_refresh, dry_run)
        info = sync_connection(
            connection,
            full_refresh=full_refresh,
            workspace_dir=str(run_ctx.workspace_dir),
            dry_run=dry_run,
            run_id=run_id,
            streams=names,
            since=since,
        )
    summary = info.to_dict()
    if as_json:
        print_json(summary)
    else:
        print_run_summary(summary)
    raise typer.Exit(EXIT_FOR_STATUS.get(info.status, 1))


def _warm_up(conn: Connection) -> None:
    """While this thread waits for Prefect (its server, then the flow run's creation over
    HTTP), a thread of its own imports what the streams will: the destination's driver; for a
    CDK source, its fork server is started (hub/sources/_forkserver.py).
    Only a head start: a failure here is met, and reported, by the stream itself."""
    import threading

    def warm() -> None:
        try:
            if conn.source.kind in ("connector", "manifest"):
                from hub.sources._child import CAN_FORK
                from hub.sources._forkserver import start_fork_server

                if CAN_FORK:
                    start_fork_server()  # its own process imports the CDK
                # The CDK itself is not imported here: its import reconfigures the root logger
                # (stdout, Airbyte JSON), which other threads' records would meet meanwhile.
            url = conn.destination.config.get("url")
            if not conn.writes_back and isinstance(url, str) and "://" in url and "${" not in url:
                from hub.destinations.engines import engine_for

                engine = engine_for(url)
                if engine.warm is not None:
                    engine.warm()
        except Exception:  # the stream meets the same problem and reports it
            pass

    threading.Thread(target=warm, name="crossdock-warm-up", daemon=True).start()


def _prefect_ready(ctx: HubContext, conn: Connection, run_id: str, full_refresh: bool, dry_run: bool) -> None:
    """Wait for the Prefect server started early; one that does not start is a failed run in
    `runs` and the audit log (and one line: `crossdock`'s main() words it)."""
    from hub.cli import prefect_server
    from hub.pipeline.run import begin_run, fail_run

    try:
        prefect_server.wait_ready()
    except RuntimeError as exc:
        begin_run(ctx, conn.name, full_refresh, dry_run, run_id=run_id)
        fail_run(ctx, run_id, conn.name, exc)
        raise


def _refuse_dead_api(
    ctx: HubContext, conn: Connection, run_id: str, full_refresh: bool, dry_run: bool
) -> None:
    """A dead API is one line and a failed run in `runs` and the audit log, before the flow
    (the flow checks too, for runs started by a worker)."""
    from hub.pipeline.reach import reachable_or_fail
    from hub.pipeline.run import begin_run, fail_run

    try:
        reachable_or_fail(ctx, conn, dry_run)
    except HubError as exc:
        begin_run(ctx, conn.name, full_refresh, dry_run, run_id=run_id)
        fail_run(ctx, run_id, conn.name, exc)
        raise


@app.command()
@handle_errors
def runs(
    limit: Annotated[int, typer.Option("--limit", "-n")] = 20,
    connection: Annotated[str | None, typer.Option("--connection", "-c")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Recent sync runs with their status and counts; a run whose process died shows
    `abandoned` (marked here, and audited, once its lease shows the holder gone)."""
    from hub.pipeline.run import reap_abandoned
    from hub.store import runs as store_runs

    ctx = hub_context()
    reap_abandoned(ctx, connection)
    rows = []
    for r in store_runs.list_runs(ctx.engine, limit, connection):
        seconds = (r.ended_at - r.started_at).total_seconds() if r.ended_at else None
        rows.append(
            {
                "run_id": r.id,
                "connection": r.connection,
                "status": r.status,
                "started_at": r.started_at.isoformat(),
                "seconds": seconds,
                "records_read": r.records_read,
                "records_written": r.records_written,
                "records_dead_lettered": r.records_dead_lettered,
                "error": r.error,
            }
        )
    if as_json:
        print_json(rows)
    elif rows:
        print_runs(rows)
    else:
        console.print("no runs yet: try `crossdock sync <connection>` or `crossdock demo`")


@app.command()
@handle_errors
def results(
    run_id: str,
    rejected: Annotated[bool, typer.Option("--rejected", help="only rejected records")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Per-record results of a write-back run: accepted, or rejected with the API's reason."""
    from hub.writeback.state import list_results

    rows = [
        {
            "stream": r.stream,
            "record": r.record_ref,
            "action": r.action,
            "status": r.status,
            "reason": r.reason,
            "remote_id": r.remote_id,
        }
        for r in list_results(hub_context().engine, run_id, "rejected" if rejected else None)
    ]
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print(f"no write-back results for run {run_id}")
        return
    print_results(rows)


@app.command()
@handle_errors
def check(connection: str) -> None:
    """Check that the connection's source, and a write-back's destination, accept their
    config and credentials (reads only; nothing is written)."""
    from hub.connections import destination_config, source_for, writeback_for
    from hub.pipeline.reach import unreachable

    ctx = hub_context()
    conn = ctx.workspace().connection(connection)
    check_references(ctx, connection=connection)
    source = source_for(ctx, conn)
    # Connection refused or an unknown host: say so at once, not after the retries.
    base_url = ctx.resolve(
        conn.source.config.get("base_url"),
        where=f"connections.{connection}.source.config.base_url",
        secret=lambda name: ctx.secret(name, used_by=connection),
    )
    why = unreachable(str(base_url)) if base_url else None
    if why:
        err_console.print(f"[red]check failed[/] for `{connection}`: {escape(why)}", soft_wrap=True)
        raise typer.Exit(1)
    result = source.check()
    _audit_refused(ctx)
    if not result.ok:
        err_console.print(
            f"[red]check failed[/] for `{connection}`: {escape(result.message)}", soft_wrap=True
        )
        raise typer.Exit(1)
    console.print(f"[green]ok[/]: connection `{connection}` source check succeeded")
    if not conn.writes_back:
        return
    base_url = destination_config(ctx, conn).get("base_url")
    why = unreachable(str(base_url)) if base_url else None
    if why:
        err_console.print(
            f"[red]check failed[/] for `{connection}` destination ({conn.destination.type}): {escape(why)}",
            soft_wrap=True,
        )
        raise typer.Exit(1)
    api = writeback_for(ctx, conn)
    try:
        proved = api.check()
    except HubError as exc:
        err_console.print(
            f"[red]check failed[/] for `{connection}` destination "
            f"({conn.destination.type}): {escape(str(exc))}",
            soft_wrap=True,
        )
        raise typer.Exit(1) from None
    finally:
        api.close()
        _audit_refused(ctx)
    console.print(f"[green]ok[/]: connection `{connection}` destination check succeeded: {escape(proved)}")


def _audit_refused(ctx: HubContext) -> None:
    """Requests the API gate refused during the check (hub/apigov), into the audit log."""
    from hub.apigov import audit_refusals

    audit_refusals(ctx.engine, ctx.audit)


@app.command()
@handle_errors
def discover(connection: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List the streams the connection's source offers, with sync modes and keys (a
    connector package's catalog, kept for its syncs, is discovered afresh)."""
    from hub.connections import source_for
    from hub.sources import PackageSource

    ctx = hub_context()
    source = source_for(ctx, ctx.workspace().connection(connection))
    if isinstance(source, PackageSource):
        source.forget_catalog()
    streams = source.discover()
    if as_json:
        print_json(streams)
        return
    for s in streams:
        fields = ", ".join(sorted(s["json_schema"].get("properties", {})))
        console.print(
            f"[bold]{s['name']}[/]  modes: {', '.join(s['sync_modes'])}  "
            f"key: {s['primary_key']}  cursor: {s['cursor_field']}\n  fields: {fields}"
        )


@app.command()
@handle_errors
def sandbox(
    port: Annotated[int, typer.Option(help="0 picks a free port")] = 8765,
    seed: Annotated[int, typer.Option()] = 42,
    scale: Annotated[int, typer.Option(help="number of CRM contacts")] = 1000,
    host: Annotated[
        str, typer.Option(help="address to listen on; 0.0.0.0 in a container (docker-compose.yml)")
    ] = "127.0.0.1",
) -> None:
    """Serve the emulated SaaS APIs (HubSpot CRM ...) on 127.0.0.1 until Ctrl-C."""
    from hub.sandbox import serve

    serve(port=port, seed=seed, scale=scale, host=host)


@app.command()
@handle_errors
def deploy(
    serve: Annotated[
        bool, typer.Option("--serve", help="also run the scheduled syncs from this process until Ctrl-C")
    ] = False,
    pool: Annotated[
        str | None,
        typer.Option("--pool", help="Prefect work pool (default: orchestration.work_pool, `crossdock`)"),
    ] = None,
) -> None:
    """Register one Prefect deployment per connection (and stitching) in the work pool, on
    their schedules; `prefect worker start --pool crossdock` runs them."""
    from flows.deployments import apply_deployments, serve_deployments

    ctx = hub_context()
    check_references(ctx)
    work_pool = pool or ctx.workspace().orchestration.work_pool
    registered = apply_deployments(ctx, work_pool)
    for d in registered:
        when = f"on cron `{d.schedule}`" if d.schedule else "on demand only (no schedule)"
        console.print(f"registered [bold]{escape(d.name)}[/] {when}: {escape(d.description)}")
    console.print(
        f"{len(registered)} deployment(s) in work pool `{work_pool}`; start a worker "
        f"with `prefect worker start --pool {work_pool}` (the Prefect UI lists them "
        "under Deployments)"
    )
    if serve:
        serve_deployments(ctx)


def _register_subcommands() -> None:
    from hub.cli.audit_cmd import app as audit_app
    from hub.cli.demo import demo
    from hub.cli.mapping_cmd import app as mapping_app
    from hub.cli.profiles_cmd import app as profiles_app
    from hub.cli.profiles_cmd import stitch
    from hub.cli.secrets_cmd import app as secrets_app

    app.command()(demo)
    app.add_typer(mapping_app, name="mapping", help="Preview and check mappings.")
    app.add_typer(audit_app, name="audit", help="Verify, tail and export the audit log.")
    app.command()(stitch)
    app.add_typer(
        profiles_app,
        name="profiles",
        help="Unified customer profiles: show, explain, review, confirm, reject, split.",
    )
    app.add_typer(secrets_app, name="secrets", help="Encrypted connector credentials.")
    _register_operations()


def _register_operations() -> None:
    from hub.cli.state_cmd import app as state_app
    from hub.cli.status_cmd import status

    app.command()(status)
    from hub.cli.report_cmd import report

    app.command()(report)
    app.add_typer(state_app, name="state", help="A stream's saved state: show, reset, set.")
    _register_read_api()
    _register_policies()
    _register_first_hour()
    _register_api_usage()


def _register_read_api() -> None:
    from hub.cli.readapi_cmd import app as api_keys_app
    from hub.cli.readapi_cmd import serve_api

    app.command("serve-api")(serve_api)
    app.add_typer(api_keys_app, name="api-keys", help="Scoped keys of the read API: create, list, revoke.")


def _register_governance() -> None:
    from hub.cli.governance_cmd import erase, retention_app

    app.command()(erase)
    app.add_typer(retention_app, name="retention", help="Delete what outlived its retention.")


def _register_policies() -> None:
    from hub.cli.policy_cmd import app as policy_app
    from hub.cli.policy_cmd import explain_decision

    app.add_typer(policy_app, name="policy", help="What the governance policies would do to sample rows.")
    app.command("explain-decision")(explain_decision)


def _register_first_hour() -> None:
    from hub.cli.sample_cmd import sample
    from hub.cli.store_cmd import app as store_app
    from hub.cli.store_cmd import upgrade

    app.command()(sample)
    app.command()(upgrade)
    app.add_typer(store_app, name="store", help="The hub store: move it to another database.")


def _register_api_usage() -> None:
    from hub.cli.api_usage_cmd import app as api_app

    app.add_typer(api_app, name="api", help="Outbound API governance: usage per account and day.")


def _register_reconcile() -> None:
    from hub.cli.reconcile_cmd import reconcile

    app.command()(reconcile)


_register_subcommands()
_register_governance()
_register_reconcile()
