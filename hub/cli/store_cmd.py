"""`crossdock store migrate --to URL`: move the hub store (runs, state, audit chain, secrets);
`crossdock upgrade`: migrate its schema in place."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from hub.cli.common import handle_errors, hub_context
from hub.cli.render import console, print_json
from hub.errors import FatalError

__all__ = ["app", "upgrade"]

app = typer.Typer(no_args_is_help=True)


@app.command()
@handle_errors
def migrate(
    to: Annotated[
        str, typer.Option("--to", metavar="URL", help="the new store: postgresql://... or sqlite:///...")
    ],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Copy the whole store (runs, checkpoints, dead letters, identity state, the audit chain
    and the encrypted secrets) into an empty database, check it, then tell you the
    CROSSDOCK_STORE_URL to set. The old store is left as it was."""
    from sqlalchemy.engine import make_url

    from hub.audit import AuditLog
    from hub.secrets import load_keyring
    from hub.secrets.store import SecretStore
    from hub.store.engine import get_engine
    from hub.store.migrate import migrate_store

    ctx = hub_context()
    source = ctx.engine
    shown_source = source.url.render_as_string(hide_password=True)
    shown_target = make_url(to).render_as_string(hide_password=True)
    moved = migrate_store(source, to, shown_source=shown_source, shown_target=shown_target)
    target = get_engine(to)
    # The copy must still be this workspace's: its chain verifies and its secrets open with our key.
    audit = AuditLog(
        target, ctx.keyring, head_file=ctx.audit_head_file, reload=lambda: load_keyring(ctx.state_dir)
    )
    report = audit.verify()
    if not report.ok:
        raise FatalError(f"the copied audit chain does not verify ({report.problem}); keep the old store")
    secrets = SecretStore(target, ctx.keyring, reload=lambda: load_keyring(ctx.state_dir))
    for info in secrets.list():
        secrets.get(info.name)  # raises if it cannot be decrypted
    audit.append(
        "store.migrate",
        actor="cli",
        target=shown_target,
        details={"from": shown_source, "rows": moved.rows},
    )
    if as_json:
        print_json({"from": shown_source, "to": shown_target, "rows": moved.rows})
        return
    total = sum(moved.rows.values())
    console.print(
        f"[green]moved[/] {total:,} rows ({len(moved.rows)} tables: {moved.rows.get('sync_runs', 0):,} runs, "
        f"{moved.rows.get('audit_events', 0):,} audit entries, {moved.rows.get('secrets', 0):,} secrets) "
        f"from {escape(shown_source)} to {escape(shown_target)}; the audit chain verifies there.\n"
        f"Now set CROSSDOCK_STORE_URL={escape(shown_target)} (with its password) wherever crossdock runs; "
        "the old store is left as it was.",
        soft_wrap=True,
    )


@handle_errors
def upgrade(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Migrate the hub store in place to this Crossdock's schema (back it up first:
    docs/operations.md "Upgrade"). Every other command refuses a store that needs this."""
    from hub.store.engine import describe_store, get_engine
    from hub.store.locks import live_holders
    from hub.store.schema import schema_status, upgrade_store

    ctx = hub_context()
    engine = get_engine(ctx.store_url)
    where = describe_store(ctx.store_url)
    if schema_status(engine).needs_upgrade and (busy := live_holders(engine)):
        holder = next(iter(busy.values()))
        raise FatalError(
            f"connection `{holder.connection}` is being synced ({holder.describe()}): let the "
            "run end (stop the workers), then upgrade; nothing was changed"
        )
    before, after = upgrade_store(engine)
    changed = before.current != after.current
    if changed and not before.new:
        ctx.audit.append(
            "store.upgrade", actor="cli", target=where, details={"from": before.current, "to": after.current}
        )
    if as_json:
        print_json({"store": where, "from": before.current, "to": after.current, "upgraded": changed})
        return
    if before.new:
        console.print(f"new store {escape(where)} created at schema revision {after.current}", soft_wrap=True)
    elif changed:
        console.print(
            f"[green]upgraded[/] the hub store {escape(where)} from schema revision {escape(before.shown)} "
            f"to {after.current}",
            soft_wrap=True,
        )
    else:
        console.print(f"the hub store {escape(where)} is at schema revision {after.current}: nothing to do")
