"""`crossdock audit`: verify the chain, tail it, export it (the export verifies on its own)."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from hub.audit import verify_entries
from hub.cli.common import handle_errors, hub_context
from hub.cli.render import console, err_console
from hub.errors import ConfigError

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True)


def _line(entry: dict[str, Any]) -> str:
    return (f"{entry['seq']:>6} {entry['at']:%Y-%m-%d %H:%M:%S} {entry['actor']:<10} "
            f"{entry['action']:<18} {entry['target'] or '':<24} "
            f"{json.dumps(entry['details'], default=str)}")


def _json(entry: dict[str, Any]) -> str:
    return json.dumps(entry, default=str, sort_keys=True)


@app.command()
@handle_errors
def verify(file: Annotated[Path | None, typer.Option(
        "--file", help="verify an export (JSON lines) instead of the store")] = None) -> None:
    """Walk the hash chain; name the first entry that was edited, deleted, reordered or forged."""
    ctx = hub_context()
    if file is None:
        report = ctx.audit.verify()
    else:
        entries = [_load_entry(line, file, n) for n, line in
                   enumerate(file.read_text(encoding="utf-8").splitlines(), 1) if line.strip()]
        start = entries[0]["seq"] if entries else 1
        report = verify_entries(ctx.keyring, entries, start_seq=start)
    if report.ok:
        console.print(f"[green]audit log intact[/]: {report.checked} entries verified")
        return
    err_console.print(f"[red]audit log tampered[/]: {report.problem} "
                      f"({report.checked} entries before it verified)")
    raise typer.Exit(1)


def _load_entry(line: str, file: Path, number: int) -> dict[str, Any]:
    try:
        entry = json.loads(line)
        entry["at"] = datetime.fromisoformat(entry["at"])
        return entry
    except (ValueError, KeyError) as exc:
        raise ConfigError(f"not an audit export line: {exc}", file=str(file), line=number) from exc


@app.command()
@handle_errors
def tail(n: Annotated[int, typer.Option("-n", help="entries to show")] = 20,
         follow: Annotated[bool, typer.Option("--follow", "-f")] = False,
         as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The newest entries; with --follow, keep printing new ones until Ctrl-C."""
    audit = hub_context().audit
    seen = 0
    while True:
        entries = audit.entries(last=n) if not seen else \
            [e for e in audit.entries(last=1000) if e["seq"] > seen]
        for entry in entries:
            print(_json(entry) if as_json else _line(entry), flush=True)
            seen = max(seen, entry["seq"])
        if not follow:
            return
        time.sleep(1)


@app.command()
@handle_errors
def export(since: Annotated[datetime | None, typer.Option(help="e.g. 2026-11-01")] = None,
           connection: Annotated[str | None, typer.Option()] = None,
           actor: Annotated[str | None, typer.Option()] = None,
           action: Annotated[str | None, typer.Option()] = None) -> None:
    """JSON lines with the chain fields, so an unfiltered export verifies on its own."""
    audit = hub_context().audit
    entries = audit.entries(since=since, target=connection, actor=actor, action=action)
    for entry in entries:
        print(_json(entry))
    audit.append("audit.export", actor="cli", details={
        "entries": len(entries), "since": since.isoformat() if since else None,
        "connection": connection, "actor": actor, "action": action})
