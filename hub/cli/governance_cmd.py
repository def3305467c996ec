"""`crossdock erase EMAIL|PROFILE_ID` and `crossdock retention run` (hub/governance/)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from hub.cli.common import handle_errors, hub_context
from hub.cli.render import console, print_json

__all__ = ["erase", "retention_app"]

retention_app = typer.Typer(no_args_is_help=True)

# Exit code of an erasure some system did not complete: the report names them to retry.
EXIT_RETRY = 3


@handle_errors
def erase(
    who: Annotated[str, typer.Argument(help="the person's email address or profile id")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="show what would be deleted where; change nothing")
    ] = False,
    only: Annotated[
        str | None, typer.Option("--only", help="ask only these systems (comma-separated), e.g. to retry")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Forget a person: every warehouse table, profile, timeline, dead letter and snapshot, and
    each SaaS system through its deletion API; a tombstone keeps them from coming back."""
    from hub.governance.erasure import erase_person

    ctx = hub_context()
    chosen = {s.strip() for s in only.split(",") if s.strip()} if only else None
    report = erase_person(ctx, who, dry_run=dry_run, only=chosen)
    if as_json:
        print_json(report.to_dict())
    else:
        verb = "would delete" if dry_run else "deleted"
        console.print(
            f"{'dry run: ' if dry_run else ''}erasure {report.request_id} (subject {report.subject}): "
            f"{report.profiles} profile(s), {report.records} record(s) known"
        )
        for where, n in {**report.warehouse, **report.store}.items():
            console.print(f"  {verb} {n:>6} row(s) in {escape(where)}")
        if not report.warehouse and not report.store:
            console.print(f"  {verb} nothing in the warehouse or the hub store")
        for s in report.systems:
            colour = {"failed": "red", "would_ask": "cyan"}.get(s.status, "green")
            console.print(f"  [{colour}]{s.status:>11}[/] {escape(s.name)} ({s.type}): {escape(s.detail)}")
        if not dry_run:
            console.print(
                f"  {report.tombstones} new tombstone(s): the next sync, stitch and write-back skip them"
            )
        if report.retry:
            console.print(
                f"[red]retry:[/] crossdock erase <the same person> --only {','.join(report.retry)}",
                soft_wrap=True,
            )
    if report.retry:
        raise typer.Exit(EXIT_RETRY)


@retention_app.command("run")
@handle_errors
def retention_run(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="count what would be deleted")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Delete every row older than `governance.retention` keeps it (the daily flow, now)."""
    from flows.retention import apply_retention
    from hub.context import bound

    ctx = hub_context()
    with bound(ctx):
        summary = apply_retention(workspace_dir=str(ctx.workspace_dir), dry_run=dry_run)
    if as_json:
        print_json(summary.to_dict())
        return
    verb = "would delete" if dry_run else "deleted"
    for where, n in summary.deleted.items():
        console.print(f"  {verb} {n:>6} row(s) in {escape(where)}")
    console.print(f"{verb} {summary.total} row(s) past their retention in {summary.seconds:.1f} s")
