"""After a run: keep its counts, judge them, and tell people about what left its band.

Called by the pipeline when a run ends (hub/pipeline/run.py `end_run`); never raises: an
anomaly is news about a run, like its notification, and must not change its outcome.
Each anomaly is audited (`anomaly.detected`) and, unless `monitoring.notify` is off, posted
to the notifications webhook. `crossdock status` asks `latest_anomalies` for the same
verdicts on the newest run of each stream.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from hub.monitoring.config import MonitoringConfig
from hub.monitoring.detect import Anomaly, judge_counts
from hub.monitoring.series import COUNT_FIELDS, load_metrics, record_metrics
from hub.redaction import redact

if TYPE_CHECKING:
    from hub.context import HubContext
    from hub.pipeline.info import RunInfo, StreamInfo

__all__ = ["observe_run", "metrics_rows", "run_anomalies", "latest_anomalies", "notify_anomalies"]

log = logging.getLogger("crossdock.monitoring")


def metrics_rows(info: RunInfo, at: datetime) -> list[dict[str, Any]]:
    """The run's rows for the series; none for a dry run (it sent and wrote nothing)."""
    if any(s.writeback and s.writeback.get("dry_run") for s in info.streams):
        return []
    return [_row(info, s, at) for s in info.streams]


def _row(info: RunInfo, s: StreamInfo, at: datetime) -> dict[str, Any]:
    wb = s.writeback or {}
    return {
        "run_id": info.run_id,
        "stream": s.stream,
        "connection": info.connection,
        "at": at,
        "status": s.status,
        "full_refresh": info.full_refresh,
        "writes_back": s.writeback is not None,
        "read": s.read,
        "written": s.written,
        "dead_lettered": s.dead_lettered,
        "filtered": s.filtered,
        "policy_filtered": 0,  # the govern step's count, when it lands (hub/governance/)
        "writeback_sent": sum(int(wb.get(k) or 0) for k in ("create", "update", "delete")),
        "writeback_accepted": int(wb.get("accepted") or 0),
        "writeback_rejected": int(wb.get("rejected") or 0),
    }


def run_anomalies(history: list[dict[str, Any]], row: dict[str, Any], cfg: MonitoringConfig) -> list[Anomaly]:
    """One stream run judged against the earlier succeeded runs of its stream, full refreshes
    only against full refreshes (they read everything, an incremental run reads the changes)."""
    if row["status"] != "succeeded":
        return []  # a failed stream is already news, and its counts stopped half-way
    past = [
        (h["at"], h)
        for h in history
        if h["stream"] == row["stream"]
        and h["run_id"] != row["run_id"]
        and h["status"] == "succeeded"
        and h["full_refresh"] == row["full_refresh"]
        and h["at"] < row["at"]
    ]
    counts = {k: row[k] for k in (*COUNT_FIELDS, "writes_back")}
    return judge_counts(
        counts,
        row["at"],
        [(at, {k: h[k] for k in (*COUNT_FIELDS, "writes_back")}) for at, h in past],
        cfg,
        connection=row["connection"],
        stream=row["stream"],
        run_id=row["run_id"],
    )


def observe_run(ctx: HubContext, info: RunInfo) -> list[Anomaly]:
    """Record the finished run's counts, judge them, audit and notify what is anomalous."""
    try:
        cfg = ctx.workspace().monitoring
        at = datetime.now(UTC) - timedelta(seconds=info.seconds)
        rows = metrics_rows(info, at)
        record_metrics(ctx.engine, rows)
        if not cfg.enabled or not rows:
            return []
        history = load_metrics(ctx.engine, info.connection, at - timedelta(days=cfg.window_days))
        found = [a for row in rows for a in run_anomalies(history, row, cfg)]
        for anomaly in found:
            log.warning("%s: anomaly: %s", info.connection, anomaly.describe())
            ctx.audit.append(
                "anomaly.detected", target=f"{anomaly.connection}/{anomaly.stream}", details=anomaly.to_dict()
            )
        if found and cfg.notify:
            notify_anomalies(ctx, info.connection, info.run_id, found)
        return found
    except Exception as exc:  # the run is over and recorded; watching it must not sink it
        log.warning("anomaly check skipped for run %s: %s", info.run_id, redact(str(exc)))
        return []


def latest_anomalies(
    ctx: HubContext, connection: str, cfg: MonitoringConfig, now: datetime | None = None
) -> list[Anomaly]:
    """The verdicts on the newest recorded run of each of the connection's streams."""
    if not cfg.enabled:
        return []
    now = now or datetime.now(UTC)
    # The newest run may be old: look back one window beyond it (two windows in all).
    rows = load_metrics(ctx.engine, connection, now - timedelta(days=2 * cfg.window_days))
    newest: dict[str, dict[str, Any]] = {}
    by_stream: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        newest[row["stream"]] = row  # oldest first: the last one wins
        by_stream[row["stream"]].append(row)
    return [a for stream, row in sorted(newest.items()) for a in run_anomalies(by_stream[stream], row, cfg)]


def notify_anomalies(ctx: HubContext, connection: str, run_id: str, anomalies: list[Anomaly]) -> bool:
    """Post the run's anomalies to the notifications webhook; True when it took them."""
    from hub.notify import post_notification

    lines = "; ".join(a.describe() for a in anomalies)
    body = {
        "text": f"crossdock: connection `{connection}` run {run_id}: {len(anomalies)} volume anomal"
        f"{'y' if len(anomalies) == 1 else 'ies'}: {lines}",
        "kind": "anomaly",
        "connection": connection,
        "run_id": run_id,
        "anomalies": [a.to_dict() for a in anomalies],
    }
    return post_notification(ctx, body, target=connection, details={"run_id": run_id, "kind": "anomaly"})
