"""Faults on the way: rate limits, broken pages, dead APIs, a killed process, bad files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.sync import sync_connection
from hub.cli import app

pytestmark = pytest.mark.usefixtures("prefect_server")

CONTACTS = "/crm/v3/objects/contacts"


def sync(hub, full_refresh: bool = False) -> dict:  # type: ignore[no-untyped-def]
    return sync_connection(
        "crm", full_refresh=full_refresh, workspace_dir=str(hub.ctx.workspace_dir)
    ).to_dict()


@pytest.mark.parametrize(
    ("kind", "extra"),
    [
        ("429", {"retry_after": 0.3}),
        ("503", {}),
        ("malformed", {}),
        ("truncated", {}),
    ],
)
def test_transient_faults_are_retried_and_nothing_is_lost(hub, kind: str, extra: dict) -> None:  # type: ignore[no-untyped-def, type-arg]
    with hub.sandbox.faults.planted(path_prefix=CONTACTS, kind=kind, times=3, **extra):
        result = sync(hub)
    assert result["status"] == "succeeded", result
    hub.assert_destination_equals_source()


def test_retry_after_is_honoured(hub) -> None:  # type: ignore[no-untyped-def]
    with hub.sandbox.faults.planted(path_prefix=CONTACTS, kind="429", times=2, retry_after=1.0):
        started = time.monotonic()
        assert sync(hub)["status"] == "succeeded"
    # two 429s asking for 1 s each: the connector must have waited at least that long
    assert time.monotonic() - started >= 2.0


def test_retries_exhausted_fail_the_stream_not_the_run(hub) -> None:  # type: ignore[no-untyped-def]
    with hub.sandbox.faults.planted(path_prefix=CONTACTS, kind="500", times=None):
        result = sync(hub)
    assert result["status"] == "partial"
    contacts, companies = result["streams"]["contacts"], result["streams"]["companies"]
    assert contacts["status"] == "failed"
    assert "contacts" in contacts["error"] and "HubSpot server error" in contacts["error"]
    assert companies["status"] == "succeeded"
    assert companies["written"] == len(hub.sandbox.hubspot.objects("companies"))
    # once the API recovers (the fault ended with its block), the next run completes, data whole
    assert sync(hub)["status"] == "succeeded"
    hub.assert_destination_equals_source()


def test_sigkill_mid_stream_then_resume(hub) -> None:  # type: ignore[no-untyped-def]
    from prefect.settings import PREFECT_API_URL

    # Slow pages so the kill lands mid-stream, after some batches were committed.
    with hub.sandbox.faults.planted(path_prefix=CONTACTS, kind="slow", delay=0.4, times=None) as slow:
        env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value())}
        proc = subprocess.Popen(
            [sys.executable, "-m", "hub.cli", "--workspace", str(hub.ctx.workspace_dir), "sync", "crm"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        # DuckDB lets one process at a time open the file, so there progress is watched at the
        # sandbox: 8 pages served means 800 records read, so a batch of 500 was on its way.
        shared_file = hub.destination["url"].startswith("duckdb:")
        try:
            deadline = time.monotonic() + 120
            while slow.served < 8 if shared_file else _count(hub, "crm_contacts") < 500:
                assert proc.poll() is None, f"sync ended before the kill: {proc.stderr.read()!r}"
                assert time.monotonic() < deadline, "no batch committed within 120 s"
                time.sleep(0.1)
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    total = len(hub.sandbox.hubspot.objects("contacts"))
    assert 0 < _count(hub, "crm_contacts") < total, "the kill came too early or too late"

    assert sync(hub)["status"] == "succeeded"  # no longer slowed: the fault ended with its block
    hub.assert_destination_equals_source()


def _count(hub, table: str) -> int:  # type: ignore[no-untyped-def]
    try:
        return len(hub.rows(table))
    except Exception:  # the table may not exist yet
        return 0


def test_broken_mapping_names_file_and_line(hub, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    mapping = hub.ctx.workspace_dir / "mappings" / "hubspot" / "contacts.yaml"
    mapping.parent.mkdir(parents=True)
    mapping.write_text(
        "source: hubspot\nstream: contacts\nentity: contact\nfields:\n"
        "  source: {const: hubspot}\n  source_id: {path: id}\n"
        "  updated_at: {path: updatedAt, apply: [no_such_function]}\n"
    )
    result = CliRunner().invoke(app, ["--workspace", str(hub.ctx.workspace_dir), "sync", "crm"])
    assert result.exit_code == 2, result.output
    assert f"{mapping}:7" in result.output
    assert "no_such_function" in result.output


def test_broken_workspace_names_file_and_line(hub) -> None:  # type: ignore[no-untyped-def]
    path = hub.ctx.workspace_file
    path.write_text(
        path.read_text().replace("      contacts:\n", "      contacts:\n        write_mdoe: merge\n")
    )
    result = CliRunner().invoke(app, ["--workspace", str(hub.ctx.workspace_dir), "sync", "crm"])
    assert result.exit_code == 2
    assert f"{path}:16" in result.output and "unknown key" in result.output
