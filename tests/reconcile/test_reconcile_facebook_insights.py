"""Facebook page insights against the sandbox's real HTTP API: a day has one key however the
days were asked for. Keyed by window, the last window ending "now" and a resume starting at
the state + 1 s gave the same day a new key on every run: reconcile reported each day both
missing and extra, and a resumed sync kept overlapping copies of the days it read again."""

from __future__ import annotations

import textwrap
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hub.context import HubContext
from hub.destinations import open_destination
from hub.pipeline import begin_run, end_run, plan_stream, sync_stream
from hub.reconcile import reconcile_connection
from hub.sandbox import Sandbox
from hub.sandbox.facebook_pages import PAGE_ID
from hub.store import runs

WORKSPACE = """\
version: 1
connections:
  social:
    source:
      connector: facebook
      config:
        base_url: {url}
        page_id: "{page}"
        access_token: sandbox-token
        start_date: "2025-06-01T00:00:00Z"
        backoff_factor: 0.1
    destination:
      type: sql
      config: {{url: "sqlite:///{warehouse}"}}
    streams:
      page_insights:
        mapping: facebook/page_insights
"""


def sync(ctx: HubContext) -> None:
    conn = ctx.workspace().connection("social")
    run_id = begin_run(ctx, "social", False)
    info = sync_stream(plan_stream(ctx, conn, "page_insights", run_id, False))
    end_run(ctx, run_id, "social", False, [info], info.seconds, "warehouse")
    assert info.status == "succeeded", info.error


def rewind(ctx: HubContext, to: datetime) -> None:
    """Make the saved state one a run stopped mid-way would have left: the cursor at `to`."""
    saved = runs.load_state(ctx.engine, "social", "page_insights")
    assert saved is not None
    state = saved.state
    stream_state = state["stream"]["stream_state"]
    (cursor,) = stream_state  # the one cursor field
    stream_state[cursor] = str(int(to.timestamp()))
    runs.save_state(ctx.engine, "social", "page_insights", state, saved.run_id, saved.destination)


def test_resumed_and_repeated_syncs_keep_one_row_per_metric_and_day_and_reconcile_clean(
    tmp_path: Path,
) -> None:
    warehouse = tmp_path / "warehouse.db"
    with Sandbox(seed=5, scale=60, port=0) as sb:
        (tmp_path / "crossdock.yaml").write_text(
            textwrap.dedent(WORKSPACE).format(url=sb.url, page=PAGE_ID, warehouse=warehouse)
        )
        ctx = HubContext(tmp_path)
        sync(ctx)
        truth = sb.facebook_pages.insights
        days = sorted(next(iter(truth.values())))
        rewind(ctx, days[len(days) // 2] - timedelta(hours=5))  # mid-way, off the windows' grid
        sync(ctx)  # resumed: reads the second half again, in windows of its own
        sync(ctx)  # and once more with nothing new
        report = reconcile_connection(ctx, "social", streams=["page_insights"])
        (insights,) = report.streams
        assert (insights.status, insights.differences) == ("clean", 0), insights
        assert insights.source == insights.warehouse == sum(len(s) for s in truth.values())

        dest = open_destination("sql", {"url": f"sqlite:///{warehouse}"})
        try:
            rows = dest.read_rows("social_page_insights")
        finally:
            dest.close()
        per_day = Counter((r["metric"], r["end_time"]) for r in rows)
        assert max(per_day.values()) == 1, [k for k, n in per_day.items() if n > 1][:3]
        got = {(r["metric"], _utc(r["end_time"])): r["value"] for r in rows}
        assert got == {(m, day): v for m, series in truth.items() for day, v in series.items()}


def _utc(value: datetime | str) -> datetime:
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
