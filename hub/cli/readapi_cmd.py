"""`crossdock serve-api` and `crossdock api-keys`: the governed read API and its keys."""

from __future__ import annotations

import signal
import time
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from hub.cli.common import handle_errors, hub_context
from hub.cli.render import console, err_console, print_json
from hub.errors import ConfigError
from hub.readapi.keys import create_key, list_keys, parse_duration, parse_rate, revoke_key
from hub.readapi.scope import parse_scope

__all__ = ["app", "serve_api"]

app = typer.Typer(no_args_is_help=True)


@handle_errors
def serve_api(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="0 picks a free port (one worker only)")] = 8080,
    workers: Annotated[int, typer.Option(min=1, help="server processes (about one per core)")] = 1,
    rate_store: Annotated[
        str | None,
        typer.Option(
            "--rate-store",
            help="where the per-key rate buckets are shared: the hub store (default) or redis://HOST:PORT/DB",
        ),
    ] = None,
) -> None:
    """Serve the read API (profiles, timelines, entities; OpenAPI at /docs) until Ctrl-C."""
    from hub.readapi.server import running_server, serve_workers

    ctx = hub_context()
    ctx.engine  # noqa: B018 - a store that cannot open: one line here, not a failed request
    if workers > 1:
        if port == 0:
            raise ConfigError("--port 0 works with one worker only: give the port the workers share")
        serve_workers(ctx, host, port, workers, rate_store=rate_store, ready=lambda url: _ready(url, workers))
        return
    # SIGTERM (a service manager) stops it as Ctrl-C does: queued audit entries are written first.
    signal.signal(signal.SIGTERM, _stop)
    with running_server(ctx, host, port, rate_store=rate_store) as url:
        _ready(url, 1)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            console.print("stopping")


def _ready(url: str, workers: int) -> None:
    console.print(
        f"read API on [bold]{url}[/] (OpenAPI: {url}/docs; {workers} worker{'s' if workers > 1 else ''}); "
        "every access is audited; Ctrl-C stops"
    )


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@app.command()
@handle_errors
def create(
    name: str,
    scope: Annotated[
        list[str],
        typer.Option(
            "--scope",
            help="KIND=A,B with KIND entities, fields, purposes or regions; repeatable "
            "(e.g. --scope entities=profile,order --scope purposes=newsletter)",
        ),
    ],
    expires_in: Annotated[
        str | None, typer.Option("--expires-in", help="e.g. 90d, 12h (default: never)")
    ] = None,
    rate: Annotated[str, typer.Option("--rate", help="requests allowed, e.g. 20/s or 600/min")] = "20/s",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Make a key with a scope; its token is shown once and stored only as a hash."""
    ctx = hub_context()
    made = create_key(
        ctx.engine,
        ctx.audit,
        name,
        parse_scope(scope),
        rate_per_second=parse_rate(rate),
        expires_in=parse_duration(expires_in) if expires_in else None,
    )
    if as_json:
        print_json({**made.key.to_json(), "token": made.token})
        return
    console.print(f"[green]created[/] API key `{escape(name)}` ({made.key.scope.describe()})")
    console.print(made.token, soft_wrap=True, highlight=False)
    err_console.print("this token is shown once: store it now (the hub keeps only its hash)")


@app.command("list")
@handle_errors
def list_(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every key with its scope, rate, expiry and status (never a token)."""
    rows = list_keys(hub_context().engine)
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print("no API keys yet: `crossdock api-keys create NAME --scope entities=...`")
        return
    table = Table("name", "id", "status", "scope", "rate/s", "expires")
    for r in rows:
        scope = " ".join(f"{k}={','.join(v)}" for k, v in r["scope"].items() if v)
        table.add_row(
            r["name"], r["id"], r["status"], scope, f"{r['rate_per_second']:g}", r["expires_at"] or "never"
        )
    console.print(table)


@app.command()
@handle_errors
def revoke(name: str) -> None:
    """Revoke a key: its next request is refused (401)."""
    ctx = hub_context()
    key = revoke_key(ctx.engine, ctx.audit, name)
    console.print(f"[green]revoked[/] API key `{escape(key.name)}` ({key.id})")
