"""`crossdock report`: the run history of every connection as one HTML page (docs/operations.md)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from hub.cli.common import handle_errors, hub_context
from hub.cli.render import console
from hub.errors import ConfigError

__all__ = ["report"]


@handle_errors
def report(
    out: Annotated[Path, typer.Option("--out", "-o", help="the HTML file to write")] = Path("report.html"),
    days: Annotated[float, typer.Option("--days", help="runs started this many days back", min=0)] = 30.0,
) -> None:
    """Each connection's volumes, durations, dead letters and write-back results over time,
    as one self-contained HTML page (inline CSS and SVG; opens offline)."""
    from hub.report import build_report, render_report

    ctx = hub_context()
    out = out.expanduser()
    if not out.parent.is_dir():  # before any work, and nothing half-written anywhere
        raise ConfigError(f"--out: the folder {out.parent} does not exist")
    data = build_report(ctx, days)
    html = render_report(data)
    # Written beside the target, then renamed: a reader never sees half a page.
    fd, tmp = tempfile.mkstemp(prefix=".report-", suffix=".html", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(html)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    runs = sum(len(c.runs) for c in data.connections)
    console.print(
        f"wrote [bold]{escape(str(out))}[/]: {len(data.connections)} connection(s), {runs} run(s) "
        f"in the last {days:g} days"
    )
