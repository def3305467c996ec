"""`crossdock api usage`: calls per API account and UTC day, with budget waits, 429s,
egress refusals and quota stops (hub/apigov; docs/api-governance.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.table import Table

from hub.cli.common import handle_errors, hub_context
from hub.cli.render import console, print_json

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True)


@app.command("usage")
@handle_errors
def usage(
    days: Annotated[int, typer.Option("--days", min=1, help="this many UTC days back, today included")] = 7,
    account: Annotated[str | None, typer.Option("--account", help="one account")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """What each API account spent per day, against its daily quota."""
    from hub.apigov import daily_usage

    ctx = hub_context()
    since = (datetime.now(UTC) - timedelta(days=days - 1)).strftime("%Y-%m-%d")
    rows = daily_usage(ctx.engine, since=since, account=account)
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print(f"no API calls recorded since {since}")
        return
    table = Table(
        "day (UTC)", "account", "calls", "daily quota", "waits", "waited s", "429s", "refused", "quota stops"
    )
    for r in rows:
        quota = f"{r['daily_limit']:,}" if r["daily_limit"] else "-"
        table.add_row(
            r["day"],
            r["account"],
            f"{r['calls']:,}",
            quota,
            str(r["waits"]),
            f"{r['wait_seconds']:.1f}",
            str(r["throttled"]),
            str(r["refused"]),
            str(r["quota_stops"]),
        )
    console.print(table)
