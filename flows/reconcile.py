"""Prefect flow: reconcile one connection (hub/reconcile), show the report as a markdown
artifact on the flow run, and notify when the differences pass `reconcile.notify_above`.

Thin on purpose: the compare and the repair live in hub.reconcile. `crossdock deploy`
schedules it daily per connection, after the connection's sync (flows/deployments.py).
"""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from hub.context import for_workspace
from hub.reconcile import reconcile_connection
from hub.reconcile.publish import notify_report, report_markdown

__all__ = ["reconcile_connection_flow"]


@flow(name="reconcile-connection", flow_run_name="reconcile-{name}")
def reconcile_connection_flow(
    name: str, workspace_dir: str = ".", repair: bool = False, streams: list[str] | None = None
) -> dict[str, Any]:
    """Check (with `repair`, fix) every stream of connection `name`; returns the report's JSON
    form (what `crossdock reconcile --json` prints)."""
    ctx = for_workspace(workspace_dir)
    settings = ctx.workspace().connection(name).reconcile
    report = reconcile_connection(ctx, name, streams=streams, repair=repair)
    create_markdown_artifact(
        markdown=report_markdown(report),
        key=f"reconcile-{name.lower().replace('_', '-')}",
        description=f"Reconcile of connection `{name}`: {report.status}",
    )
    notify_report(ctx, report, settings.notify_above)
    return report.to_dict()
