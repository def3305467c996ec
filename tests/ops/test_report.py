"""`crossdock report`: one self-contained HTML page from the store's run history, rendered in a
real headless Chromium (its DOM holds the charts' data points; its screenshot is saved)."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlmodel import Session, col
from typer.testing import CliRunner

from hub.cli import app
from hub.context import HubContext
from hub.store import runs
from hub.store.models import SyncRun
from hub.writeback.state import add_results
from tests.ops.conftest import write_workspace

runner = CliRunner()

CRM_OUT = """\
  crm_out:
    source: {{warehouse: "sqlite:///{tmp}/warehouse.db"}}
    destination:
      type: hubspot
      config: {{base_url: "http://127.0.0.1:9", access_token: "not-a-real-token"}}
    streams:
      crm_contacts: {{mapping: warehouse/contacts, sync_mode: full_refresh}}
"""


def _record(
    ctx: HubContext, run_id: str, conn: str, status: str, ago: timedelta, seconds: float, **counts: int
) -> None:
    runs.start_run(ctx.engine, run_id, conn, False)
    runs.finish_run(ctx.engine, run_id, status, None if status == "succeeded" else "contacts: HTTP 500")
    started = datetime.now(UTC) - ago
    with Session(ctx.engine) as session:  # backdate it, and give it counts as its streams would
        session.exec(
            update(SyncRun)
            .where(col(SyncRun.id) == run_id)
            .values(started_at=started, ended_at=started + timedelta(seconds=seconds), **counts)
        )
        session.commit()


@pytest.fixture
def history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> HubContext:
    """A month and more of runs: crm daily (one partial with dead letters), a write-back with
    accepted and rejected records, support never run, and one crm run older than the window."""
    monkeypatch.delenv("CROSSDOCK_STORE_URL", raising=False)
    ctx = write_workspace(tmp_path, extra=CRM_OUT.format(tmp=tmp_path))
    for day in range(1, 8):
        status = "partial" if day == 3 else "succeeded"
        dead = 7 if day == 3 else 0
        _record(
            ctx,
            f"crm-{day}",
            "crm",
            status,
            timedelta(days=day),
            10.0 + day,
            records_read=100 * day,
            records_written=100 * day - dead,
            records_dead_lettered=dead,
        )
    _record(
        ctx, "crm-old", "crm", "failed", timedelta(days=40), 5.0, records_read=99_999, records_written=99_999
    )
    for day in (1, 2):
        run_id = f"out-{day}"
        _record(ctx, run_id, "crm_out", "succeeded", timedelta(days=day, hours=1), 4.0, records_read=50)
        add_results(
            ctx.engine,
            [
                {
                    "run_id": run_id,
                    "connection": "crm_out",
                    "stream": "crm_contacts",
                    "record_ref": f"r{i}",
                    "action": "update",
                    "status": "rejected" if i < day else "accepted",
                    "reason": None,
                    "remote_id": None,
                }
                for i in range(40)
            ],
        )
    return ctx


def _report(ctx: HubContext, out: Path, *args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["--workspace", str(ctx.workspace_dir), "report", "--out", str(out), *args])


def test_report_page_is_self_contained_with_each_connections_history(
    history: HubContext, tmp_path: Path
) -> None:
    out = tmp_path / "report.html"
    result = _report(history, out, "--days", "30")
    assert result.exit_code == 0, result.output
    assert "3 connection(s), 9 run(s)" in result.stdout  # the 40-day-old run is outside the window
    page = out.read_text()
    # nothing fetched from anywhere: no script, stylesheet, image, font or frame source
    assert not re.search(r"<(script|link|img|iframe|object|embed)\b", page, re.I)
    assert not re.search(r"""(src|href)\s*=|url\(|@import|https?://""", page, re.I)
    crm = page[page.index('data-connection="crm"') : page.index('data-connection="crm_out"')]
    assert 'data-runs="7"' in crm and "99999" not in page and "crm-old" not in page
    assert 'data-chart="volume" data-points="7"' in crm and 'data-chart="writeback"' not in crm
    assert 'data-value="7"' in crm  # the partial run's dead letters
    assert "last problem: run crm-3" in crm
    out_part = page[page.index('data-connection="crm_out"') :]
    assert 'data-chart="writeback" data-points="2"' in out_part
    assert out_part.count('data-series="rejected" data-value="1"') == 1  # run out-1: 1 of 40 rejected
    assert 'data-series="accepted" data-value="38"' in out_part  # run out-2: 2 rejected


def test_report_window_and_a_missing_folder(history: HubContext, tmp_path: Path) -> None:
    out = tmp_path / "all.html"
    assert _report(history, out, "--days", "60").exit_code == 0
    page = out.read_text()
    assert 'data-runs="8"' in page and 'data-series="written" data-value="99999"' in page
    missing = tmp_path / "nowhere" / "r.html"
    result = _report(history, missing)
    assert result.exit_code == 2 and "does not exist" in result.output and not missing.parent.exists()


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    message = "chromium is not installed: `apt-get install -y chromium` (.ci/run does)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)  # CI must run it: a skipped render test proves nothing
    pytest.skip(message)


def test_report_renders_in_headless_chromium(history: HubContext, tmp_path: Path) -> None:
    chromium = _chromium()
    out = tmp_path / "report.html"
    assert _report(history, out).exit_code == 0
    flags = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
    ]
    flags += [f"--user-data-dir={tmp_path / 'chromium-profile'}", "--window-size=1280,2000"]
    dom = subprocess.run(
        [*flags, "--dump-dom", out.as_uri()], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    # the DOM Chromium built from the page: every connection's charts with their data points
    assert dom.count('class="connection"') == 3
    assert len(re.findall(r'<svg class="chart" data-chart="volume" data-points="7"', dom)) == 1
    assert len(re.findall(r'<circle class="point seconds"', dom)) == 7 + 2  # crm and crm_out durations
    assert len(re.findall(r'<rect class="point written"', dom)) == 7 + 2
    assert "no runs" in dom  # support's empty charts say so

    shot = tmp_path / "report.png"
    subprocess.run(
        [*flags, f"--screenshot={shot}", out.as_uri()], capture_output=True, timeout=120, check=True
    )
    print(f"report screenshot: {shot}")
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk
    assert (width, height) == (1280, 2000)
    assert len(data) > 20_000  # a blank page compresses to a few kB; charts and text do not
