"""A run's end with a history behind it: the counts are kept, an anomaly is audited, posted to a
real local webhook receiver, and shown by `crossdock status`, which then exits 5."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.cli import app
from hub.cli.status_cmd import EXIT_ATTENTION
from hub.context import HubContext
from hub.errors import ConfigError
from hub.monitoring import load_metrics, observe_run, record_metrics
from hub.pipeline.info import RunInfo, StreamInfo
from tests.ops.conftest import write_workspace
from tests.ops.webhook import Receiver, local_receiver

runner = CliRunner()

SETTINGS = """\
notifications:
  webhook: "${env:CROSSDOCK_TEST_WEBHOOK}"
  attempts: 2
monitoring:
  window_days: 28
  threshold: 3.5
"""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with local_receiver() as rec:
        yield rec


@pytest.fixture
def store(request: pytest.FixtureRequest) -> str:
    return getattr(request, "param", "sqlite")


@pytest.fixture
def ctx(
    request: pytest.FixtureRequest,
    store: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    receiver: Receiver,
) -> HubContext:
    if store == "postgres":
        monkeypatch.setenv("CROSSDOCK_STORE_URL", request.getfixturevalue("pg_schema_url"))
    else:
        monkeypatch.delenv("CROSSDOCK_STORE_URL", raising=False)
    monkeypatch.setenv("CROSSDOCK_TEST_WEBHOOK", receiver.url)
    ctx = write_workspace(tmp_path, schedule="* * * * *", extra=SETTINGS)
    # 35 days of daily `users` runs of support before today: ~1,000 a weekday, ~300 a weekend day
    now = datetime.now(UTC)
    rows = []
    for back in range(35, 0, -1):
        at = now - timedelta(days=back)
        read = (300 if at.weekday() >= 5 else 1000) + back % 5
        rows.append(
            {
                "run_id": f"past-{back}",
                "stream": "users",
                "connection": "support",
                "at": at,
                "status": "succeeded",
                "read": read,
                "written": read,
            }
        )
    record_metrics(ctx.engine, rows)
    return ctx


def _run(ctx: HubContext, run_id: str, read: int) -> RunInfo:
    stream = StreamInfo(stream="users", table="support_users", status="succeeded", read=read, written=read)
    return RunInfo(run_id, "support", "succeeded", False, 2.0, "sqlite", [stream])


def _usual() -> int:
    """Today's usual volume in the history above."""
    return 300 if datetime.now(UTC).weekday() >= 5 else 1000


def _status(ctx: HubContext) -> tuple[int, dict]:  # type: ignore[type-arg]
    result = runner.invoke(app, ["--workspace", str(ctx.workspace_dir), "status", "--json", "-c", "support"])
    return result.exit_code, json.loads(result.output)


def test_a_normal_run_is_kept_and_raises_nothing(ctx: HubContext, receiver: Receiver) -> None:
    assert observe_run(ctx, _run(ctx, "today", _usual() + 3)) == []
    rows = load_metrics(ctx.engine, "support", datetime.now(UTC) - timedelta(hours=1))
    assert [(r["run_id"], r["read"], r["writes_back"]) for r in rows] == [("today", _usual() + 3, False)]
    assert receiver.bodies == [] and ctx.audit.entries(action="anomaly.detected") == []
    code, body = _status(ctx)
    assert code == 0 and body["connections"][0]["anomalies"] == []


@pytest.mark.parametrize(
    "store", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_a_drop_is_audited_notified_and_needs_attention(ctx: HubContext, receiver: Receiver) -> None:
    [anomaly] = [a for a in observe_run(ctx, _run(ctx, "today", _usual() * 4 // 10)) if a.metric == "read"]
    assert anomaly.direction == "low" and anomaly.stream == "users"

    audited = ctx.audit.entries(action="anomaly.detected")
    assert {e["details"]["metric"] for e in audited} == {"read", "written"}
    assert all(e["target"] == "support/users" for e in audited)
    [body] = receiver.bodies
    assert body["kind"] == "anomaly" and body["run_id"] == "today"
    assert "volume anomalies" in body["text"] and "users: read" in body["text"]
    assert "T0KEN" not in json.dumps(ctx.audit.entries(action="notify.sent"), default=str)

    code, status = _status(ctx)
    assert code == EXIT_ATTENTION
    [conn] = status["connections"]
    assert {a["metric"] for a in conn["anomalies"]} == {"read", "written"}
    assert any(line.startswith("anomaly: users: read") for line in conn["attention"])
    shown = runner.invoke(app, ["--workspace", str(ctx.workspace_dir), "status", "-c", "support"])
    assert shown.exit_code == EXIT_ATTENTION and "anomaly: users: read" in " ".join(shown.output.split())


def test_a_dry_run_is_not_kept(ctx: HubContext) -> None:
    stream = StreamInfo(stream="users", table="t", status="succeeded", read=5, writeback={"dry_run": True})
    assert observe_run(ctx, RunInfo("dry", "support", "succeeded", False, 1.0, "x", [stream])) == []
    assert load_metrics(ctx.engine, "support", datetime.now(UTC) - timedelta(hours=1)) == []


def test_monitoring_settings_errors_name_the_line(tmp_path: Path) -> None:
    ctx = write_workspace(tmp_path, extra="monitoring:\n  window_days: 28\n  min_histroy: 3\n")
    with pytest.raises(ConfigError) as err:
        ctx.workspace()
    line = ctx.workspace_file.read_text().splitlines().index("  min_histroy: 3") + 1
    assert str(err.value).startswith(
        f"{ctx.workspace_file}:{line} (key `monitoring.min_histroy`): unknown key"
    )
