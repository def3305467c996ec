"""`crossdock audit`: verify the chain and its anchored head, tail it, export it (the export
carries its own anchors and verifies on its own), acknowledge a loss."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from hub.audit import AuditLog, Head, HeadFile
from hub.audit.export import HEADER_KEY, export_header, header_head, verify_export
from hub.cli.common import handle_errors, hub_context
from hub.cli.render import console, err_console
from hub.errors import ConfigError

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True)


def _line(entry: dict[str, Any]) -> str:
    at = entry["at"]
    at = f"{at:%Y-%m-%d %H:%M:%S}" if isinstance(at, datetime) else str(at)
    return (
        f"{entry['seq']!s:>6} {at:<19} {entry['actor']:<10} "
        f"{entry['action']:<18} {entry['target'] or '':<24} "
        f"{json.dumps(entry['details'], default=str)}"
    )


def _json(entry: dict[str, Any]) -> str:
    return json.dumps(entry, default=str, sort_keys=True)


@app.command()
@handle_errors
def verify(
    file: Annotated[
        Path | None, typer.Option("--file", help="verify an export (JSON lines) instead of the store")
    ] = None,
    anchor: Annotated[
        list[Path] | None,
        typer.Option(
            "--anchor",
            help="also check the store still reaches the head recorded in this "
            "export or head file (e.g. another machine's); repeatable",
        ),
    ] = None,
) -> None:
    """Walk the hash chain and compare its end with the anchored head; name the first entry
    that was edited, deleted, reordered, forged or cut off."""
    ctx = hub_context()
    if file is None:
        report = ctx.audit.verify([_anchor_from(path, ctx.audit) for path in anchor or []])
    else:
        header, entries = _load_export(file)
        report = verify_export(ctx.keyring, header, entries)
    if not report.ok:
        err_console.print(
            f"[red]audit log tampered[/]: {report.problem} ({report.checked} entries before it verified)",
            soft_wrap=True,
        )
        raise typer.Exit(1)
    end = f" up to entry {report.last[0]}" if report.last else ""
    console.print(f"[green]audit log intact[/]: {report.checked} entries verified{end}", soft_wrap=True)
    if report.note:
        err_console.print(f"[yellow]note[/]: {report.note}", soft_wrap=True)


def _anchor_from(path: Path, audit: AuditLog) -> Head:
    """The head recorded in an export's header or in a (copied) head file, for this store."""
    try:
        first = json.loads(path.read_text(encoding="utf-8").split("\n", 1)[0])
    except (OSError, ValueError) as exc:
        raise ConfigError(f"not an audit export or head file: {exc}", file=str(path)) from exc
    if isinstance(first, dict) and HEADER_KEY in first:
        try:
            return header_head(audit.keyring, first, str(path))
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"{exc}: it was edited or written with another key", file=str(path)) from None
    head = HeadFile(path).read(audit.keyring, audit.store)
    if head is None:
        raise ConfigError(f"holds no head for this store ({audit.store})", file=str(path))
    return head


def _load_export(file: Path) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    lines = [
        (n, line) for n, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1) if line.strip()
    ]
    header: dict[str, Any] | None = None
    if lines:
        first = _load_line(*lines[0], file)
        if HEADER_KEY in first:
            header, lines = first, lines[1:]
    return header, [_load_entry(_load_line(n, line, file)) for n, line in lines]


def _load_line(number: int, line: str, file: Path) -> dict[str, Any]:
    try:
        loaded = json.loads(line)
    except ValueError as exc:
        raise ConfigError(f"not an audit export line: {exc}", file=str(file), line=number) from exc
    if not isinstance(loaded, dict):
        raise ConfigError("not an audit export line: not a JSON object", file=str(file), line=number)
    return loaded


def _load_entry(entry: dict[str, Any]) -> dict[str, Any]:
    try:
        entry["at"] = datetime.fromisoformat(entry["at"])
    except (ValueError, KeyError, TypeError):
        pass  # left as found: verify reports the entry
    return entry


@app.command()
@handle_errors
def tail(
    n: Annotated[int, typer.Option("-n", help="entries to show")] = 20,
    follow: Annotated[bool, typer.Option("--follow", "-f")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    action: Annotated[str | None, typer.Option(help="only entries of this action, e.g. api.read")] = None,
) -> None:
    """The newest entries; with --follow, keep printing new ones until Ctrl-C."""
    audit = hub_context().audit
    seen = 0
    while True:
        entries = (
            audit.entries(last=n, action=action)
            if not seen
            else [
                e
                for e in audit.entries(last=1000, action=action)
                if isinstance(e["seq"], int) and e["seq"] > seen
            ]
        )
        for entry in entries:
            print(_json(entry) if as_json else _line(entry), flush=True)
            if isinstance(entry["seq"], int):
                seen = max(seen, entry["seq"])
        if not follow:
            return
        time.sleep(1)


@app.command()
@handle_errors
def export(
    since_text: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="DATE",
            help="e.g. 2026-11-01 or 2026-11-01T09:00:00+01:00 (no zone: UTC): from the first entry "
            "at or after it, to the end",
        ),
    ] = None,
    connection: Annotated[str | None, typer.Option()] = None,
    actor: Annotated[str | None, typer.Option()] = None,
    action: Annotated[str | None, typer.Option()] = None,
) -> None:
    """JSON lines: a signed header (start and end anchors, the log's head), then the entries
    with their chain fields, so an export verifies on its own and a cut one does not."""
    from hub.pipeline.select import parse_since  # one reading of --since for every command

    since = parse_since(since_text) if since_text is not None else None
    ctx = hub_context()
    audit = ctx.audit
    head = audit.head()
    entries = audit.entries(
        since=since, target=connection, actor=actor, action=action, until_seq=head.seq if head else 0
    )
    filters = {
        "since": since.isoformat() if since else None,
        "connection": connection,
        "actor": actor,
        "action": action,
    }
    header = export_header(ctx.keyring, entries, head, filters, skips=bool(connection or actor or action))
    # Audited before anything is printed: a log that refuses the entry gets no export.
    audit.append(
        "audit.export",
        actor="cli",
        details={"entries": len(entries), "head": head.seq if head else 0, **filters},
    )
    print(_json(header))
    for entry in entries:
        print(_json(entry))


@app.command()
@handle_errors
def acknowledge(
    reason: Annotated[
        str,
        typer.Option("--reason", help="why the log no longer reaches its anchored head (kept in the log)"),
    ],
) -> None:
    """Record in the log that its head no longer matches the anchored one (entries cut off,
    a restore from backup, a lost head file), and anchor the current head so appends resume."""
    if not reason.strip():
        raise ConfigError("--reason must say why (it is kept in the audit log)")
    entry = hub_context().audit.acknowledge(reason.strip(), actor="cli")
    if entry is None:
        console.print("nothing to acknowledge: the log reaches its anchored head")
        return
    console.print(f"acknowledged as entry {entry['seq']}: {entry['details']['problem']}", soft_wrap=True)
    console.print(
        f"the head is now anchored at entry {entry['seq']}; `crossdock audit verify` "
        "still names any entry that was edited",
        soft_wrap=True,
    )
