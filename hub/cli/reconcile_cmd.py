"""`crossdock reconcile CONN`: does each warehouse table equal its source? `--repair` fixes it.

Exit codes as `sync`'s: 0 clean, 3 differences (like a partial run), 1 the check failed,
2 bad config, 4 busy (a repair waits for no running sync of the connection).
"""

from __future__ import annotations

from typing import Annotated, NoReturn

import typer
from rich.markup import escape
from rich.table import Table

from hub.cli.common import EXIT_FOR_STATUS, handle_errors, hub_context
from hub.cli.render import console, print_json
from hub.context import HubContext
from hub.pipeline.info import RunStatus
from hub.reconcile import ConnectionReport, ReconcileStatus, StreamReport

__all__ = ["reconcile", "EXIT_FOR_RECONCILE"]

_AS_RUN: dict[ReconcileStatus, RunStatus] = {
    "clean": "succeeded",
    "differences": "partial",
    "failed": "failed",
}
EXIT_FOR_RECONCILE: dict[ReconcileStatus, int] = {k: EXIT_FOR_STATUS[v] for k, v in _AS_RUN.items()}
_STYLE = {"clean": "green", "differences": "yellow", "failed": "red"}


@handle_errors
def reconcile(
    connection: Annotated[str | None, typer.Argument(help="the connection (omit with --identity)")] = None,
    stream: Annotated[str | None, typer.Option("--stream", metavar="S", help="only this stream")] = None,
    repair: Annotated[
        bool,
        typer.Option(
            "--repair",
            help="re-read missing and stale rows, flag or delete extras (the connection's `deletes:`), "
            "then check again",
        ),
    ] = False,
    content: Annotated[
        bool,
        typer.Option(
            "--content",
            help="compare every row's checksum (a full read of the source), even where the connector "
            "offers a keys-only read; default: the connection's `reconcile.content`",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable report")] = False,
    identity: Annotated[
        bool,
        typer.Option(
            "--identity", help="check the profiles instead: records that vanished, orphan profiles and events"
        ),
    ] = False,
) -> None:
    """Compare each stream's warehouse table with its source: counts, keys, checksums. A write-back
    connection: what the SaaS tool holds against what was sent. `--identity`: the profiles."""
    from hub.pipeline.run import claim_connection
    from hub.reconcile import reconcile_connection

    ctx = hub_context()
    if identity:
        _reconcile_identity(ctx, connection, as_json)
    if connection is None:
        from hub.errors import ConfigError

        raise ConfigError("name the connection to reconcile, or give `--identity` for the profiles")
    streams = [stream] if stream else None
    if ctx.workspace().connection(connection).writes_back:
        _reconcile_writeback(ctx, connection, stream, repair, as_json)
    if repair:  # a repair writes the warehouse: never beside a running sync of the connection
        with claim_connection(ctx, connection, f"reconcile-repair-{connection}"):
            report = reconcile_connection(
                ctx, connection, streams=streams, repair=True, content=content or None
            )
    else:
        report = reconcile_connection(ctx, connection, streams=streams, content=content or None)
    if as_json:
        print_json(report.to_dict())
    else:
        if report.before is not None:
            console.print("[bold]before repair[/]")
            _print_table(report.connection, report.before)
            for name, done in (report.repaired or {}).items():
                console.print(
                    f"repaired {escape(name)}: {done['rewritten']:,} rewritten, "
                    f"{done['flagged_deleted']:,} flagged deleted, {done['deleted']:,} deleted"
                )
            console.print("[bold]after repair[/]")
        _print_table(report.connection, report.streams)
        _print_verdict(report)
    raise typer.Exit(EXIT_FOR_RECONCILE[report.status])


def _reconcile_identity(ctx: HubContext, connection: str | None, as_json: bool) -> NoReturn:
    """The profiles against the warehouse rows they were stitched from (hub/reconcile/identity.py);
    `crossdock stitch --full` rebuilds them from the records there are."""
    from hub.errors import ConfigError
    from hub.reconcile.identity import reconcile_identity

    if connection is not None:
        raise ConfigError("`--identity` checks the profiles of every connection: give no connection name")
    report = reconcile_identity(ctx)
    if as_json:
        print_json({"status": "clean" if report.clean else "differences", **report.to_dict()})
    else:
        style = "green" if report.clean else "yellow"
        console.print(
            f"[{style}]identity[/]: {report.profiles:,} profiles, {report.records:,} records, "
            f"{report.events:,} timeline events; {len(report.vanished_records):,} records vanished, "
            f"{len(report.orphan_profiles):,} orphan profiles, {len(report.orphan_events):,} orphan events"
            + ("" if report.clean else "; `crossdock stitch --full` rebuilds the profiles"),
            soft_wrap=True,
        )
    raise typer.Exit(EXIT_FOR_RECONCILE["clean" if report.clean else "differences"])


def _reconcile_writeback(
    ctx: HubContext, connection: str, stream: str | None, repair: bool, as_json: bool
) -> NoReturn:
    """A write-back connection: what the SaaS tool holds (read back through its API) against the
    last accepted snapshot; `--repair` re-sends the differences (hub/reconcile/writeback.py)."""
    from hub.pipeline.run import claim_connection
    from hub.reconcile.writeback import reconcile_writeback, repair_writeback

    names = [stream] if stream else list(ctx.workspace().connection(connection).streams)
    reports = []
    for name in names:
        report = reconcile_writeback(ctx, connection, name)
        before = report
        if repair and not report.clean:
            with claim_connection(ctx, connection, f"reconcile-repair-{connection}"):
                report = repair_writeback(ctx, report)
        reports.append((before, report))
    if as_json:
        print_json(
            {
                "connection": connection,
                "status": "clean" if all(r.clean for _, r in reports) else "differences",
                "streams": [r.to_dict() for _, r in reports],
                **({"before": [b.to_dict() for b, _ in reports]} if repair else {}),
            }
        )
    for before, report in reports if not as_json else ():
        if repair and before is not report:
            console.print(
                f"{escape(report.stream)} before repair: {before.differences:,} difference(s) "
                f"({len(before.missing)} missing, {len(before.different)} different, "
                f"{len(before.extra)} extra)"
            )
        style = "green" if report.clean else "yellow"
        console.print(
            f"[{style}]{escape(connection)}/{escape(report.stream)}[/] -> {escape(report.destination)}: "
            f"{report.checked:,} sent, {report.equal:,} equal, {len(report.missing):,} missing, "
            f"{len(report.different):,} different, {len(report.extra):,} extra; {report.pending:,} pending, "
            f"{report.unsent:,} unsent, {report.unmanaged:,} not the hub's",
            soft_wrap=True,
        )
    clean = all(r.clean for _, r in reports)
    raise typer.Exit(EXIT_FOR_RECONCILE["clean" if clean else "differences"])


def _print_table(connection: str, streams: list[StreamReport]) -> None:
    table = Table(title=f"reconcile {connection}", title_justify="left")
    for col in (
        "stream",
        "source",
        "warehouse",
        "missing",
        "extra",
        "stale",
        "pending",
        "equal",
        "read",
        "status",
        "s",
    ):
        table.add_column(col, justify="left" if col in ("stream", "status") else "right")
    for r in streams:
        table.add_row(
            escape(r.stream),
            f"{r.source:,}",
            f"{r.warehouse:,}",
            f"{r.missing:,}",
            f"{r.extra:,}",
            f"{r.stale:,}",
            f"{r.pending:,}",
            f"{r.equal:,}",
            r.read,
            f"[{_STYLE[r.status]}]{r.status}[/]",
            f"{r.seconds:.1f}",
        )
    console.print(table)
    for r in streams:
        for kind, keys in r.samples.items():
            console.print(f"  {escape(r.stream)} {kind}: {escape(', '.join(keys))}", soft_wrap=True)
        if r.error:
            console.print(f"  [red]{escape(r.stream)} failed:[/] {escape(r.error)}", soft_wrap=True)


def _print_verdict(report: ConnectionReport) -> None:
    if report.status == "clean":
        console.print(f"[green]{report.connection}: every stream equals its source[/]")
    elif report.status == "differences":
        console.print(
            f"[yellow]{report.connection}: {report.differences:,} difference(s)[/]; "
            f"`crossdock reconcile {report.connection} --repair` fixes them"
        )
    else:
        console.print(f"[red]{report.connection}: the check failed for some streams[/]")
