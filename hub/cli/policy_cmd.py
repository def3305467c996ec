"""`crossdock policy test CONN` and `crossdock explain-decision KEY`: what the govern step would do
to sample rows (nothing written), and why a record was held back in a run."""

from __future__ import annotations

from typing import Annotated

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
    run: Annotated[str | None, typer.Option("--run", help="only this run")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """What the govern step did to KEY: each time a policy held it back or withdrew it (rule,
    why, run), and, per run and stream whose output has it, which PII fields were kept, hashed,
    tokenised, masked or dropped by which rule (from the run's stored plan: docs/governance.md)."""
    from hub.governance.explain import explain_record

    ctx = hub_context()
    found = explain_record(ctx, key, run)
    if as_json:
        print_json(found)
        return
    if not found:
        where = f"run {run}" if run else "any recorded run"
        console.print(f"no governance decision about `{escape(key)}` in {escape(where)}")
        return
    held = [d for d in found if d["kind"] == "held"]
    if held:
        table = Table(title=f"held back or withdrawn: {escape(key)}", title_justify="left")
        for col in ("run", "connection/stream", "rule", "action", "why"):
            table.add_column(col)
        for d in held:
            table.add_row(
                d["run_id"], f"{d['connection']}/{d['stream']}", d["rule"], d["action"], escape(d["reason"])
            )
        console.print(table)
    for d in found:
        if d["kind"] != "pii":
            continue
        title = (
            f"PII of {escape(d['record_key'])}: run {d['run_id']}, {d['connection']}/{d['stream']} "
            f"({escape(d['outcome'])}; policy {str(d['policy_hash'] or '')[:12]})"
        )
        table = Table(title=title, title_justify="left")
        for col in ("field", "rule", "done"):
            table.add_column(col)
        for f in d["fields"]:
            table.add_row(f["field"], f["rule"] or "-", f["done"])
        console.print(table)
