"""How the CLI shows run summaries and tables: rich for people, JSON for machines."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table

__all__ = [
    "console",
    "err_console",
    "print_json",
    "print_run_summary",
    "print_runs",
    "print_results",
    "print_table",
]

# Piped output gets a fixed width rather than 80 columns of truncated cells.
console = Console(width=None if sys.stdout.isatty() else 120)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 120)

_STATUS_STYLE = {
    "succeeded": "green",
    "partial": "yellow",
    "failed": "red",
    "running": "cyan",
    "abandoned": "magenta",
    "accepted": "green",
    "rejected": "red",
}


def print_json(data: Any) -> None:
    # Plain print: machine output must not carry terminal markup or wrapping.
    print(json.dumps(data, indent=2, default=str))


def print_table(table: Table) -> None:
    """A terminal gets the table fitted to its width; piped output gets it at its natural
    width, every value whole (a fitted table cuts cells to `22,…` and `succeed…`)."""
    if console.is_terminal:
        console.print(table)
        return
    natural = Measurement.get(console, console.options.update(width=1_000_000), table).maximum
    Console(width=max(natural, 20), file=console.file, highlight=False).print(table)


def _status(status: str) -> str:
    return f"[{_STATUS_STYLE.get(status, 'white')}]{status}[/]"


def print_run_summary(summary: dict[str, Any], title: str | None = None) -> None:
    table = Table(title=f"{title or 'run'} ({summary['run_id']})", title_justify="left")
    for col in ("stream", "status", "read", "written", "dead", "filtered", "seconds", "records/s"):
        table.add_column(col, justify="left" if col in ("stream", "status") else "right", no_wrap=True)
    for name, s in summary["streams"].items():
        table.add_row(
            f"{name} (table {s['table']})",
            _status(s["status"]),
            f"{s['read']:,}",
            f"{s['written']:,}",
            f"{s['dead_lettered']:,}",
            f"{s['filtered']:,}",
            f"{s['seconds']:.2f}",
            f"{s['records_per_second']:,.0f}",
        )
    print_table(table)
    console.print(
        f"status {_status(summary['status'])}: {summary['records_read']:,} read, "
        f"{summary['records_written']:,} written, {summary['records_dead_lettered']:,} "
        f"dead-lettered in {summary['seconds']:.2f}s "
        f"({summary['records_per_second']:,.0f} records/s)"
    )
    for name, s in summary["streams"].items():
        if s["error"]:
            console.print(f"[red]stream {name} failed:[/] {escape(s['error'])}", soft_wrap=True)
        if s.get("schema_drift"):
            console.print(
                f"[yellow]schema drift in {name}[/] (records delivered): "
                f"{escape(_drift_text(s['schema_drift']))}",
                soft_wrap=True,
            )
        if s.get("writeback"):
            console.print(escape(_writeback_text(name, s["writeback"])), soft_wrap=True)
        if s.get("governance"):
            console.print(escape(_governance_text(name, s["governance"])), soft_wrap=True)
        if s.get("erased_skipped"):
            console.print(
                f"erased people in {name}: {s['erased_skipped']:,} row(s) left out (crossdock erase)",
                soft_wrap=True,
            )
        if s.get("api") and (s["api"]["waits"] or s["api"]["throttled"] or s["api"]["refused"]):
            console.print(escape(_api_text(name, s["api"])), soft_wrap=True)


def _api_text(stream: str, api: dict[str, Any]) -> str:
    """The API budget's part in a stream (hub/apigov): only shown when it held something back."""
    return (
        f"API {stream}: {api['calls']:,} calls, {api['waits']:,} waited for the budget "
        f"({api['wait_seconds']:.1f}s), {api['throttled']:,} answered 429, {api['refused']:,} refused"
        + (f", quota stop until {api['resume_at']}" if api.get("resume_at") else "")
    )


def print_runs(rows: list[dict[str, Any]]) -> None:
    table = Table()
    for col in ("run", "connection", "status", "started", "seconds", "read", "written", "dead-lettered"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r["run_id"],
            r["connection"],
            _status(r["status"]),
            str(r["started_at"])[:19],
            f"{r['seconds']:.1f}" if r["seconds"] else "",
            f"{r['records_read']:,}",
            f"{r['records_written']:,}",
            f"{r['records_dead_lettered']:,}",
        )
    print_table(table)


def print_results(rows: list[dict[str, Any]]) -> None:
    table = Table()
    for col in ("stream", "record", "action", "status", "reason", "remote id"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r["stream"],
            r["record"],
            r["action"],
            _status(r["status"]),
            escape(r["reason"] or ""),
            r["remote_id"] or "",
        )
    print_table(table)


def _writeback_text(stream: str, wb: dict[str, Any]) -> str:
    verb = "would " if wb["dry_run"] else ""
    lines = [
        f"{stream}: {verb}create {wb['create']:,}, {verb}update {wb['update']:,}, "
        f"{verb}delete {wb['delete']:,}; unchanged {wb['unchanged']:,} (not sent)"
    ]
    if wb.get("matched_existing"):
        lines.append(
            f"  {wb['matched_existing']:,} of the updates were first sends of records the "
            "destination already had, matched by key (e.g. email): updated, not created"
        )
    elif wb["dry_run"] and wb["create"]:
        lines.append(
            "  a create is a record the hub has not sent before; the destination matches the "
            "ones it already has by key (e.g. email) and updates them instead"
        )
    if not wb["dry_run"]:
        lines.append(
            f"  accepted {wb['accepted']:,}, rejected {wb['rejected']:,}"
            + (" (`crossdock results RUN --rejected` lists them)" if wb["rejected"] else "")
        )
    elif wb["rejected"]:
        lines.append(f"  {wb['rejected']:,} row(s) cannot be sent")
    if wb.get("withdrawn") or wb.get("withheld"):  # the consent policy's part (docs/governance.md)
        lines.append(
            f"  consent: {verb}unsubscribe/remove {wb.get('withdrawn', 0):,}, "
            f"withheld {wb.get('withheld', 0):,} (never sent, nothing to withdraw)"
        )
    for action, refs in wb.get("samples", {}).items():
        lines.append(f"  {action}: " + "; ".join(refs))
    return "\n".join(lines)


def _drift_text(drift: dict[str, Any]) -> str:
    parts = []
    if drift.get("new_fields"):
        parts.append(
            "new fields " + ", ".join(f"{f} ({n:,} records)" for f, n in drift["new_fields"].items())
        )
    if drift.get("missing_required"):
        parts.append(
            "required fields missing "
            + ", ".join(f"{f} ({n:,} records)" for f, n in drift["missing_required"].items())
        )
    for field, m in (drift.get("type_mismatches") or {}).items():
        seen = ", ".join(f"{t} x{n}" for t, n in m["seen"].items())
        parts.append(f"{field} declared {'/'.join(m['declared'])}, seen {seen}")
    return "; ".join(parts)


def _governance_text(stream: str, gov: dict[str, Any]) -> str:
    """`policies on X: 3 dropped, 2 withdrawn, 10 changed (consent.email_marketing 2, ...)`."""
    rules = ", ".join(f"{rule} {n:,}" for rule, n in gov.get("rules", {}).items())
    text = (
        f"policies on {stream}: {gov.get('dropped', 0):,} held back, {gov.get('withdrawn', 0):,} "
        f"withdrawn, {gov.get('changed', 0):,} changed ({rules})"
    )
    if gov.get("unclassified_pii"):
        text += f"; fields that look like PII but are not marked pii: {sorted(gov['unclassified_pii'])}"
    return text
