"""`crossdock policy test CONN` and `crossdock explain-decision KEY`: what the govern step would do
to sample rows (nothing written), and why a record was held back in a run."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from hub.cli.common import handle_errors, hub_context
from hub.cli.render import console, print_json
from hub.errors import ConfigError

__all__ = ["app", "explain_decision"]

app = typer.Typer(no_args_is_help=True)


@app.command("test")
@handle_errors
def policy_test(
    connection: str,
    sample: Annotated[int, typer.Option("--sample", "-n", help="records per stream")] = 10,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Read SAMPLE records of each stream of CONNECTION, map them, and show what each policy
    would do (kept, changed, dropped, withdrawn, and why); writes and sends nothing."""
    from hub.governance.preview import preview_policies

    ctx = hub_context()
    gov = ctx.workspace().governance
    if not (gov.governs or gov.stock is not None):
        raise ConfigError(
            "this workspace has no `governance:` block, so nothing is governed (docs/governance.md)",
            file=str(ctx.workspace_file),
        )
    rows = preview_policies(ctx, connection, sample)
    if as_json:
        print_json(rows)
        return
    table = Table(title=f"policy test: {connection} (nothing written)", title_justify="left")
    for col in ("stream", "record", "outcome", "rule", "why"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["stream"], r["record_key"], r["outcome"], r["rule"] or "", escape(r["why"]))
    console.print(table)


@handle_errors
def explain_decision(
    key: Annotated[str, typer.Argument(help="a record key (source:source_id) or a profile id")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Every decision the govern step recorded about KEY: the rule, what it did, why, and the run."""
    from hub.governance.decisions import decisions_for

    ctx = hub_context()
    found: list[dict[str, Any]] = [
        {
            "run_id": d.run_id,
            "connection": d.connection,
            "stream": d.stream,
            "record_key": d.record_key,
            "profile_id": d.profile_id,
            "rule": d.rule,
            "action": d.action,
            "reason": d.reason,
            "at": d.at,
        }
        for d in decisions_for(ctx.engine, key)
    ]
    if as_json:
        print_json(found)
        return
    if not found:
        console.print(f"no policy held back or withdrew `{escape(key)}` in any recorded run")
        return
    table = Table(title=f"decisions about {escape(key)}", title_justify="left")
    for col in ("run", "connection/stream", "rule", "action", "why"):
        table.add_column(col)
    for d in found:
        table.add_row(
            d["run_id"], f"{d['connection']}/{d['stream']}", d["rule"], d["action"], escape(d["reason"])
        )
    console.print(table)
