"""A reference that cannot resolve stops `check`, `sync` and `deploy` with exit 2 and the
reference's file:line, before any run starts (it used to fail each stream with exit 1)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.sync import sync_connection
from hub.cli import app
from hub.context import HubContext
from hub.errors import ConfigError
from hub.store import runs

WORKSPACE = """\
version: 1
connections:
  crm:
    source:
      connector: hubspot
      config:
        base_url: http://127.0.0.1:9
        access_token: ${secret:HUBSPOT_TOKEN}
    destination:
      type: sql
      config: {url: "sqlite:///warehouse.db"}
    streams:
      contacts: {mapping: hubspot/contacts}
"""


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("CROSSDOCK_STORE_URL", raising=False)
    monkeypatch.delenv("CRM_TOKEN", raising=False)
    (tmp_path / "crossdock.yaml").write_text(WORKSPACE)
    return tmp_path


@pytest.mark.usefixtures("prefect_server")
@pytest.mark.parametrize("reference", ["${secret:HUBSPOT_TOKEN}", "${env:CRM_TOKEN}", "${evn:CRM_TOKEN}"])
@pytest.mark.parametrize("command", [["check", "crm"], ["sync", "crm"], ["deploy"]])
def test_an_unresolvable_reference_is_exit_2_naming_its_line(
    workspace: Path, reference: str, command: list[str]
) -> None:
    path = workspace / "crossdock.yaml"
    path.write_text(WORKSPACE.replace("${secret:HUBSPOT_TOKEN}", reference))
    result = CliRunner().invoke(app, ["--workspace", str(workspace), *command])
    assert result.exit_code == 2, result.output
    assert f"{path}:8" in result.output.replace("\n", ""), result.output
    assert runs.list_runs(HubContext(workspace).engine, 10, None) == []


@pytest.mark.usefixtures("prefect_server")
def test_the_flow_checks_before_recording_a_run(workspace: Path) -> None:
    with pytest.raises(ConfigError, match=r"crossdock.yaml:8 .*secret `HUBSPOT_TOKEN` is not set"):
        sync_connection("crm", workspace_dir=str(workspace))
    assert runs.list_runs(HubContext(workspace).engine, 10, None) == []
