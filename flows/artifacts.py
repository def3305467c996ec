"""What a sync flow run shows in the Prefect UI beside its logs.

- Its name and tags say the connection and what started it: `sync-crm-schedule`, tags
  `crossdock`, `connection:crm`, `trigger:schedule`. The trigger is `cli` (called in process:
  `crossdock sync`, the demo), `schedule` (the server's scheduler created the run from the
  deployment's cron) or `deployment` (a deployment run by hand: the UI, `prefect deployment run`).
- Its artifacts: the run summary as a table (one row per stream), and a markdown note when
  something needs a person (failed streams, dead letters, rejected write-backs, schema drift).
  Both are keyed by connection (`sync-crm`, `sync-crm-attention`), so the UI's Artifacts page
  keeps each connection's history.

Publishing never changes a run's outcome: the run is recorded in the store before, and a
failure to publish is a warning.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any, Literal
from uuid import UUID

from hub.context import HubContext
from hub.pipeline.info import RunInfo, StreamInfo
from hub.redaction import redact
from hub.store.history import dead_letter_reasons

if TYPE_CHECKING:
    from hub.identity.run import StitchSummary

__all__ = [
    "Trigger",
    "trigger_of",
    "current_trigger",
    "sync_run_name",
    "tag_run",
    "summary_table",
    "attention_markdown",
    "publish_run",
    "publish_failure",
    "artifact_key",
    "stitch_run_name",
    "stitch_table",
    "publish_stitch",
]

Trigger = Literal["cli", "schedule", "deployment"]
log = logging.getLogger("crossdock.flows")


def trigger_of(deployment_id: UUID | None, auto_scheduled: bool) -> Trigger:
    if deployment_id is None:
        return "cli"
    return "schedule" if auto_scheduled else "deployment"


def current_trigger() -> Trigger:
    from prefect.context import FlowRunContext

    run_ctx = FlowRunContext.get()
    flow_run = run_ctx.flow_run if run_ctx else None
    if flow_run is None:
        return "cli"
    return trigger_of(flow_run.deployment_id, flow_run.auto_scheduled)


def sync_run_name() -> str:
    """The sync flow's `flow_run_name`: Prefect calls it once the run exists."""
    from prefect.context import FlowRunContext

    run_ctx = FlowRunContext.get()
    name = run_ctx.parameters.get("name", "?") if run_ctx and run_ctx.parameters else "?"
    return f"sync-{name}-{current_trigger()}"


def tag_run(*labels: str) -> None:
    """Add `crossdock`, `labels` (`connection:NAME`) and `trigger:T` to the current flow run's tags."""
    from prefect.client.orchestration import get_client
    from prefect.context import FlowRunContext

    run_ctx = FlowRunContext.get()
    if run_ctx is None or run_ctx.flow_run is None:
        return
    flow_run = run_ctx.flow_run
    tags = sorted({*flow_run.tags, "crossdock", *labels, f"trigger:{current_trigger()}"})
    try:
        with get_client(sync_client=True) as client:
            client.update_flow_run(flow_run.id, tags=tags)
        flow_run.tags = tags
    except Exception as exc:  # a label, not worth failing a sync over
        log.warning("could not tag flow run %s: %s", flow_run.id, redact(str(exc)))


def artifact_key(connection: str, suffix: str = "") -> str:
    # Prefect's keys take lowercase letters, digits and dashes only.
    slug = re.sub(r"[^a-z0-9-]+", "-", connection.lower()).strip("-") or "connection"
    return f"sync-{slug}{'-' + suffix if suffix else ''}"


_WRITEBACK_COUNTS = ("create", "update", "delete", "unchanged", "accepted", "rejected")


def _writeback_cell(s: StreamInfo) -> str:
    wb = s.writeback
    if not wb:
        return ""
    counts = ", ".join(f"{k} {wb[k]:,}" for k in _WRITEBACK_COUNTS if wb.get(k))
    return ("dry run: " if wb.get("dry_run") else "") + counts


def summary_table(info: RunInfo) -> list[dict[str, Any]]:
    """One row per stream, and a total row."""
    rows: list[dict[str, Any]] = [
        {
            "stream": s.stream,
            "status": s.status,
            "read": s.read,
            "written": s.written,
            "dead letters": s.dead_lettered,
            "filtered": s.filtered,
            "seconds": round(s.seconds, 2),
            "records/s": round(s.records_per_second, 1),
            "write-back": _writeback_cell(s),
            "error": redact(s.error or ""),
        }
        for s in info.streams
    ]
    rows.append(
        {
            "stream": "(total)",
            "status": info.status,
            "read": info.read,
            "written": info.written,
            "dead letters": info.dead_lettered,
            "filtered": sum(s.filtered for s in info.streams),
            "seconds": round(info.seconds, 2),
            "records/s": round(info.records_per_second, 1),
            "write-back": "",
            "error": "",
        }
    )
    return rows


def attention_markdown(info: RunInfo, reasons: list[tuple[str, str, int]]) -> str | None:
    """What a person should look at after this run, as markdown; None when nothing.

    `reasons`: (stream, dead-letter reason, count), the most frequent first."""
    failed = [s for s in info.streams if s.status != "succeeded"]
    rejected = [s for s in info.streams if s.writeback and s.writeback.get("rejected")]
    drifted = [s for s in info.streams if s.schema_drift]
    if not (failed or info.dead_lettered or rejected or drifted or info.status != "succeeded"):
        return None
    lines = [f"# `{info.connection}`: run {info.run_id} {info.status}", ""]
    if failed:
        lines += ["## Failed streams", ""]
        lines += [f"- **{s.stream}**: {_md(s.error or 'did not complete')}" for s in failed]
        lines += ["", "The next run resumes each from its last checkpoint.", ""]
    if info.dead_lettered:
        lines += [
            f"## Dead letters: {info.dead_lettered:,}",
            "",
            "| stream | reason | records |",
            "| --- | --- | --- |",
        ]
        lines += [f"| {stream} | {_md(reason)} | {n:,} |" for stream, reason, n in reasons]
        lines += ["", "The records are kept in the store's `dead_letters` table with their reason.", ""]
    if rejected:
        lines += ["## Rejected by the destination", ""]
        lines += [f"- **{s.stream}**: {s.writeback['rejected']:,} rejected" for s in rejected if s.writeback]
        lines += ["", f"Each record's reason: `crossdock results {info.run_id} --rejected`.", ""]
    if drifted:
        lines += ["## Schema drift (records delivered anyway)", ""]
        lines += [f"- **{s.stream}**: {_md(str(s.schema_drift))}" for s in drifted]
        lines += [""]
    lines += [f"Run details: `crossdock runs -c {info.connection}`; health: `crossdock status`."]
    return "\n".join(lines)


def _md(text: str) -> str:
    # One table cell or list item: no line breaks or pipes; secrets masked.
    return redact(text).replace("\n", " ").replace("|", "\\|")


def publish_run(ctx: HubContext, info: RunInfo) -> None:
    """The run's table artifact, and its attention note when something needs a person."""
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    try:
        create_table_artifact(
            summary_table(info),
            key=artifact_key(info.connection),
            description=f"Sync of `{info.connection}`, run {info.run_id}: {info.status}, "
            f"{info.read:,} read, {info.written:,} written, {info.dead_lettered:,} dead letters "
            f"in {info.seconds:.1f} s",
        )
        reasons = [(r.stream, r.reason, r.count) for r in dead_letter_reasons(ctx.engine, info.run_id)]
        note = attention_markdown(info, reasons)
        if note is not None:
            create_markdown_artifact(
                note,
                key=artifact_key(info.connection, "attention"),
                description=f"`{info.connection}` run {info.run_id} needs attention",
            )
    except Exception as exc:  # the run is recorded already; the UI view is a nicety
        log.warning("could not publish the artifacts of run %s: %s", info.run_id, redact(str(exc)))


def publish_failure(connection: str, run_id: str, exc: BaseException) -> None:
    """The run stopped outside its streams (e.g. the store went away): say so in the UI."""
    from prefect.artifacts import create_markdown_artifact

    note = (
        f"# `{connection}`: run {run_id} failed\n\n"
        f"The run stopped: {_md(f'{type(exc).__name__}: {exc}')}\n\n"
        "No stream's checkpoint moved past what was committed; the next run resumes from there."
    )
    try:
        create_markdown_artifact(
            note, key=artifact_key(connection, "attention"), description=f"`{connection}` run {run_id} failed"
        )
    except Exception as publish_exc:
        log.warning("could not publish the failure of run %s: %s", run_id, redact(str(publish_exc)))


def stitch_run_name() -> str:
    """The stitch flow's `flow_run_name`: stitch-MODE-TRIGGER."""
    from prefect.context import FlowRunContext

    run_ctx = FlowRunContext.get()
    mode = run_ctx.parameters.get("mode", "incremental") if run_ctx and run_ctx.parameters else "?"
    return f"stitch-{mode}-{current_trigger()}"


def stitch_table(summary: StitchSummary) -> list[dict[str, Any]]:
    """The stitch run's counts as a two-column table."""
    return [{"measure": k, "value": v} for k, v in summary.to_dict().items() if k != "run_id"]


def publish_stitch(summary: StitchSummary) -> None:
    from prefect.artifacts import create_table_artifact

    try:
        create_table_artifact(
            stitch_table(summary),
            key="stitch-profiles",
            description=f"Stitch run {summary.run_id} ({summary.mode}): {summary.profiles:,} profiles, "
            f"{summary.review:,} pairs to review",
        )
    except Exception as exc:
        log.warning("could not publish the artifact of stitch run %s: %s", summary.run_id, redact(str(exc)))
