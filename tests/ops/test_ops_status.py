"""`crossdock status`: lateness against the cron schedule, problem runs, the exit code."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlmodel import col
from typer.testing import CliRunner

from hub.cli import app
from hub.cli.status_cmd import EXIT_ATTENTION, connection_status
from hub.context import HubContext
from hub.store import runs
from hub.store.models import SyncRun

runner = CliRunner()
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
GRACE = timedelta(minutes=15)


def _run(started: datetime, status: str = "succeeded", **counts: int) -> SyncRun:
    return SyncRun(id="r1", connection="crm", status=status, started_at=started, ended_at=started, **counts)


def test_late_when_no_run_started_since_the_last_scheduled_time() -> None:
    # daily at 03:00; the last run started yesterday 03:01: today's 03:00 was missed
    st = connection_status("crm", "0 3 * * *", _run(NOW - timedelta(hours=33)), None, {}, NOW, GRACE)
    assert st.late and st.due_at == "2026-03-10T03:00:00+00:00"
    assert st.late_seconds == 9 * 3600
    assert st.attention == ["late: no run since 2026-03-10 03:00 UTC"]


def test_on_time_after_the_scheduled_run_and_within_grace() -> None:
    on_time = connection_status("crm", "0 3 * * *", _run(NOW - timedelta(hours=8)), None, {}, NOW, GRACE)
    assert not on_time.late and not on_time.attention
    # 11:57: the 11:45 fire is inside the 15 minutes grace, so the 11:40 one is due
    now = NOW - timedelta(minutes=3)
    st = connection_status("crm", "*/5 * * * *", _run(NOW - timedelta(minutes=19)), None, {}, now, GRACE)
    assert st.due_at == "2026-03-10T11:40:00+00:00" and not st.late  # a run started 11:41
    st = connection_status("crm", "*/5 * * * *", _run(NOW - timedelta(minutes=21)), None, {}, now, GRACE)
    assert st.late and st.late_seconds == 17 * 60  # the last run started 11:39


def test_problem_statuses_need_attention_and_no_schedule_is_never_late() -> None:
    old = NOW - timedelta(days=30)
    for status in ("failed", "partial", "abandoned"):
        st = connection_status("crm", None, _run(old, status), None, {status: 2}, NOW, GRACE)
        assert st.attention == [f"last run {status}"] and not st.late
    assert connection_status("crm", None, _run(old), None, {}, NOW, GRACE).attention == []
    never = connection_status("crm", "* * * * *", None, None, {}, NOW, GRACE)
    assert never.last_status is None and not never.attention


def _record(ctx: HubContext, run_id: str, conn: str, status: str, ago: timedelta, **counts: int) -> None:
    from sqlmodel import Session

    runs.start_run(ctx.engine, run_id, conn, False)
    runs.finish_run(ctx.engine, run_id, status, None if status == "succeeded" else "companies: HTTP 500")
    with Session(ctx.engine) as session:  # backdate it, and give it counts as its streams would
        session.exec(
            update(SyncRun)
            .where(col(SyncRun.id) == run_id)
            .values(started_at=datetime.now(UTC) - ago, ended_at=datetime.now(UTC) - ago, **counts)
        )
        session.commit()


def _status(ctx: HubContext, *args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["--workspace", str(ctx.workspace_dir), "status", *args])


def test_cli_exits_5_naming_what_needs_a_person(ops_ctx: HubContext) -> None:
    # crm runs daily at 03:00 and last ran two days ago: late; support's last run was partial
    _record(ops_ctx, "a", "crm", "succeeded", timedelta(days=2), records_read=10, records_written=9)
    _record(ops_ctx, "b", "support", "failed", timedelta(hours=3))
    _record(ops_ctx, "c", "support", "partial", timedelta(hours=1), records_dead_lettered=4)
    result = _status(ops_ctx, "--json")
    assert result.exit_code == EXIT_ATTENTION, result.output
    out = json.loads(result.stdout)
    assert out["needs_attention"] == ["crm", "support"]
    crm, support = out["connections"]
    assert crm["late"] and crm["last_status"] == "succeeded" and crm["records_written"] == 9
    assert support["last_status"] == "partial" and support["dead_letters"] == 4
    assert support["recent"] == {"failed": 1, "partial": 1} and not support["late"]
    assert crm["reconciled"] is None and support["reconciled"] is None  # never reconciled

    table = _status(ops_ctx)
    assert table.exit_code == EXIT_ATTENTION
    assert "needs attention: crm: late" in table.stdout and "support: last run partial" in table.stdout


def test_cli_exits_0_when_all_is_well(ops_ctx: HubContext) -> None:
    _record(ops_ctx, "a", "crm", "succeeded", timedelta(minutes=1))
    _record(ops_ctx, "b", "support", "failed", timedelta(hours=2))
    _record(ops_ctx, "c", "support", "succeeded", timedelta(hours=1))
    result = _status(ops_ctx, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["needs_attention"] == []
    only = json.loads(_status(ops_ctx, "--json", "-c", "crm").stdout)
    assert [c["connection"] for c in only["connections"]] == ["crm"]
    assert _status(ops_ctx, "-c", "nowhere").exit_code == 2
