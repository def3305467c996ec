"""Prefect flow: stitch identity profiles after the syncs (thin: the work is in hub.identity)."""

from __future__ import annotations

from prefect import flow

from flows.artifacts import publish_stitch, stitch_run_name, tag_run
from hub.context import for_workspace
from hub.identity.run import StitchSummary, stitch_workspace
from hub.logs import use_log_format_from_env

__all__ = ["stitch_profiles"]


@flow(name="stitch-profiles", flow_run_name=stitch_run_name)  # stitch-MODE-TRIGGER
def stitch_profiles(mode: str = "incremental", workspace_dir: str = ".") -> StitchSummary:
    """Stitch every contact record into profiles; `mode` is incremental or full."""
    if mode not in ("incremental", "full"):
        raise ValueError(f"mode must be incremental or full, not {mode!r}")
    use_log_format_from_env()
    tag_run("identity")
    ctx = for_workspace(workspace_dir)
    summary = stitch_workspace(ctx, full=mode == "full")
    publish_stitch(summary)
    return summary
