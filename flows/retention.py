"""Prefect flow: delete what outlived its retention (thin: the work is in hub.governance)."""

from __future__ import annotations

from prefect import flow

from hub.context import for_workspace
from hub.governance.retention import RetentionSummary, run_retention

__all__ = ["apply_retention"]


@flow(name="apply-retention", flow_run_name="retention")
def apply_retention(workspace_dir: str = ".", dry_run: bool = False) -> RetentionSummary:
    """Delete (or count, with `dry_run`) the rows past `governance.retention`."""
    return run_retention(for_workspace(workspace_dir), dry_run=dry_run)
