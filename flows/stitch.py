"""Prefect flow: stitch identity profiles after the syncs (thin: the work is in hub.identity)."""

from __future__ import annotations

from prefect import flow

from hub.context import for_workspace
from hub.identity.run import StitchSummary, stitch_workspace

__all__ = ["stitch_profiles"]


@flow(name="stitch-profiles", flow_run_name="stitch-{mode}")
def stitch_profiles(mode: str = "incremental", workspace_dir: str = ".") -> StitchSummary:
    """Stitch every contact record into profiles; `mode` is incremental or full."""
    if mode not in ("incremental", "full"):
        raise ValueError(f"mode must be incremental or full, not {mode!r}")
    ctx = for_workspace(workspace_dir)
    return stitch_workspace(ctx, full=mode == "full")
