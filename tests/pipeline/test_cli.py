"""The `crossdock` commands against a workspace wired to the sandbox."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from hub.cli import app

runner = CliRunner()


def invoke(hub, *args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["--workspace", str(hub.ctx.workspace_dir), *args])


@pytest.mark.usefixtures("prefect_server")
def test_sync_json_summary_then_runs(hub) -> None:  # type: ignore[no-untyped-def]
    result = invoke(hub, "sync", "crm", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["status"] == "succeeded" and summary["connection"] == "crm"
    contacts = summary["streams"]["contacts"]
    assert contacts["read"] == contacts["written"] == len(hub.sandbox.hubspot.objects("contacts"))
    assert contacts["state"]["stream"]["stream_state"]["fullReadStartedAt"]  # a first sync

    runs = json.loads(invoke(hub, "runs", "--json").stdout)
    assert [r["run_id"] for r in runs] == [summary["run_id"]]
    assert runs[0]["records_written"] == summary["records_written"]


@pytest.mark.usefixtures("prefect_server")
def test_partial_run_exits_3(hub) -> None:  # type: ignore[no-untyped-def]
    with hub.sandbox.faults.planted(path_prefix="/crm/v3/objects/companies", kind="500", times=None):
        result = invoke(hub, "sync", "crm")
    assert result.exit_code == 3
    assert "partial" in result.stdout and "companies failed" in result.stdout


def test_check_and_discover(hub) -> None:  # type: ignore[no-untyped-def]
    result = invoke(hub, "check", "crm")
    assert result.exit_code == 0 and "ok" in result.stdout
    streams = json.loads(invoke(hub, "discover", "crm", "--json").stdout)
    assert {s["name"]: s["primary_key"] for s in streams} == {
        "contacts": [["id"]],
        "companies": [["id"]],
        "deals": [["id"]],
        "owners": [["id"]],
    }


def test_check_with_a_refused_token_says_which_setting(hub) -> None:  # type: ignore[no-untyped-def]
    path = hub.ctx.workspace_file
    path.write_text(path.read_text().replace("sandbox-token", "wrong-token"))
    result = invoke(hub, "check", "crm")
    assert result.exit_code == 1
    assert "access_token" in result.output and "wrong-token" not in result.output


def test_unknown_connection_is_a_config_error(hub) -> None:  # type: ignore[no-untyped-def]
    result = invoke(hub, "sync", "nowhere")
    assert result.exit_code == 2 and "no connection named `nowhere`" in result.output


def test_mapping_test_previews_sandbox_records(hub) -> None:  # type: ignore[no-untyped-def]
    from pathlib import Path

    mapping = Path(__file__).resolve().parents[2] / "mappings" / "hubspot" / "contacts.yaml"
    result = invoke(hub, "mapping", "test", str(mapping), "--sample", "4", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 4 and all(r["outcome"] in ("mapped", "dead-letter") for r in rows)
    assert all(r["output"]["source"] == "hubspot" for r in rows if r["output"])
