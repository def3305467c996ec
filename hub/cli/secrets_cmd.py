"""`crossdock secrets`: set, list, delete, rotate-key. Values never come from argv."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from hub.cli.common import handle_errors, hub_context
from hub.cli.render import console, print_json
from hub.errors import ConfigError
from hub.secrets import KEY_ENV, save_keyring

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True)


@app.command("set")
@handle_errors
def set_secret(name: str) -> None:
    """Store NAME, reading its value from stdin (piped) or a hidden prompt."""
    if sys.stdin.isatty():
        value = typer.prompt(f"value for {name}", hide_input=True, confirmation_prompt=True)
    else:
        value = sys.stdin.read().rstrip("\n")
    if not value:
        raise ConfigError(f"no value given for secret `{name}` (pipe it in or type it)")
    ctx = hub_context()
    with ctx.audit.recording("secret.set", actor="cli", target=name) as conn:  # both or neither
        ctx.secrets.set(name, value, conn=conn)
    console.print(
        f"secret `{name}` stored (encrypted with key version {ctx.keyring.primary}); "
        f"use it as ${{secret:{name}}}"
    )


@app.command("list")
@handle_errors
def list_secrets(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Names and dates only; values are never shown."""
    infos = hub_context().secrets.list()
    if as_json:
        print_json(
            [
                {"name": i.name, "updated_at": i.updated_at.isoformat(), "key_version": i.key_version}
                for i in infos
            ]
        )
        return
    if not infos:
        console.print("no secrets yet: `crossdock secrets set NAME`")
    for info in infos:
        console.print(f"{info.name:<32} updated {info.updated_at:%Y-%m-%d %H:%M} key v{info.key_version}")


@app.command("delete")
@handle_errors
def delete_secret(name: str) -> None:
    ctx = hub_context()
    with ctx.audit.recording("secret.delete", actor="cli", target=name) as conn:
        if not ctx.secrets.delete(name, conn=conn):
            raise ConfigError(f"no secret named `{name}`")
    console.print(f"secret `{name}` deleted")


@app.command("rotate-key")
@handle_errors
def rotate_key() -> None:
    """Add a new master key version and re-encrypt every secret with it.

    Readers keep working throughout: old versions still decrypt until every
    secret is re-encrypted, and stay in the key file for the audit log.
    """
    import os

    ctx = hub_context()
    if os.environ.get(KEY_ENV):
        raise ConfigError(
            f"the master key comes from ${KEY_ENV}; rotate it there (add a "
            "version to the JSON keyring) and run this again without the variable"
        )
    ctx.audit.check()  # the rotation cannot share the entry's transaction: refuse up front
    new = ctx.keyring.rotated()
    save_keyring(ctx.state_dir, new)
    ctx.secrets.use_keyring(new)
    count = ctx.secrets.reencrypt_all()
    ctx.audit.keyring = new
    ctx.audit.append(
        "secret.rotate_key", actor="cli", details={"key_version": new.primary, "reencrypted": count}
    )
    console.print(f"master key rotated to version {new.primary}; {count} secrets re-encrypted")
