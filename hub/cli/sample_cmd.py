"""`crossdock sample CONN STREAM`: real records of a stream as JSON lines, for `mapping test`.

A connector author captures what the API really sends (`> records.jsonl`) and
tries a mapping on it before any run: nothing is written, no state is read or
saved, and the read stops after `--limit` records.
"""

from __future__ import annotations

import sys
from typing import Annotated

import orjson
import typer

from hub.cli.common import handle_errors, hub_context
from hub.cli.render import err_console
from hub.errors import ConfigError

__all__ = ["sample"]


@handle_errors
def sample(
    connection: str,
    stream: str,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="records to write")] = 20,
) -> None:
    """Write the first records of one stream, as the source gives them, to stdout as JSON
    lines (`crossdock sample crm contacts > records.jsonl`, then
    `crossdock mapping test FILE --input records.jsonl`). Reads only; saves no state."""
    from hub.connections import source_for
    from hub.sources import RECORD
    from hub.workspace.references import check_references

    ctx = hub_context()
    conn = ctx.workspace().connection(connection)
    if conn.writes_back:
        raise ConfigError(
            f"`{connection}` writes back: its source is a warehouse table; sample a connection "
            "that reads an API",
            file=str(ctx.workspace_file),
            key=f"connections.{connection}",
        )
    check_references(ctx, connection=connection)
    source = source_for(ctx, conn)
    if stream not in conn.streams:
        offered = sorted(s["name"] for s in source.discover())
        if stream not in offered:
            raise ConfigError(
                f"connection `{connection}` has no stream `{stream}`; its source offers: {', '.join(offered)}"
            )
    written = 0
    out = sys.stdout.buffer
    # Leaving the loop early drops the generator, which ends the read (no further pages).
    for kind, payload in source.read(stream, incremental=False, state=None):
        if kind != RECORD:
            continue
        out.write(orjson.dumps(payload, default=str) + b"\n")
        written += 1
        if written >= limit:
            break
    out.flush()
    err_console.print(f"{written} record(s) of {connection}/{stream}")
