"""Piped output (not a terminal) keeps every value whole, and each listing has `--json`
(issue 19, point 5)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import Session
from typer.testing import CliRunner

from hub.cli import app
from hub.context import HubContext
from hub.store.models import SyncRun

LONG = "a_connection_with_a_name_long_enough_to_push_the_table_past_any_fixed_width"


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("CROSSDOCK_STORE_URL", raising=False)
    monkeypatch.delenv("CROSSDOCK_MASTER_KEY", raising=False)
    (tmp_path / "crossdock.yaml").write_text("version: 1\nconnections: {}\n")
    return tmp_path


def invoke(ws: Path, *args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["--workspace", str(ws), *args], input=stdin)


def test_a_piped_table_is_not_cut(ws: Path) -> None:
    with Session(HubContext(ws).engine) as session:
        session.add(
            SyncRun(
                id="run-0123456789abcdef",
                connection=LONG,
                status="succeeded",
                records_read=22_222_222,
                records_written=22_222_221,
                records_dead_lettered=1,
            )
        )
        session.commit()
    result = invoke(ws, "runs")
    assert result.exit_code == 0, result.output
    assert "…" not in result.stdout, result.stdout
    for whole in (LONG, "run-0123456789abcdef", "succeeded", "22,222,222", "22,222,221"):
        assert whole in result.stdout, (whole, result.stdout)


def test_secrets_list_has_json(ws: Path) -> None:
    assert invoke(ws, "secrets", "set", "CRM_TOKEN", stdin="s3cret-value\n").exit_code == 0
    result = invoke(ws, "secrets", "list", "--json")
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    assert [s["name"] for s in listed] == ["CRM_TOKEN"] and listed[0]["key_version"] >= 1
    assert "s3cret-value" not in result.stdout


def test_prefect_gets_a_longer_start_up_and_a_late_one_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import os

    import hub.cli as cli

    assert int(os.environ[cli.STARTUP_SETTING]) >= 60  # Prefect alone gives 20 s

    def late() -> None:
        raise RuntimeError("Timed out while attempting to connect to ephemeral Prefect API server.")

    monkeypatch.setattr(cli, "app", late)
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    assert exit_.value.code == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and cli.STARTUP_SETTING in err
    assert "prefect server start" in err and "PREFECT_API_URL" in err
