"""Commands that read or write the store refuse a folder without crossdock.yaml, naming it and
`--workspace`, and leave no `.crossdock/` behind (issue "The first hour")."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.cli import app

COMMANDS = [
    ["runs"],
    ["results", "some-run"],
    ["audit", "verify"],
    ["audit", "tail"],
    ["secrets", "list"],
    ["secrets", "set", "API_KEY"],
    ["profiles", "review"],
]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a))
def test_a_folder_without_crossdock_yaml_is_refused_and_left_untouched(
    args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CROSSDOCK_STORE_URL", raising=False)
    monkeypatch.delenv("CROSSDOCK_WORKSPACE", raising=False)
    monkeypatch.delenv("CROSSDOCK_AUDIT_HEAD", raising=False)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, args, input="a-value\n")
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert f"{tmp_path} holds no crossdock.yaml" in text
    assert "--workspace" in text and "Traceback" not in text
    assert list(tmp_path.iterdir()) == []  # no .crossdock/, no store, no key


def test_a_workspace_with_crossdock_yaml_is_accepted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CROSSDOCK_STORE_URL", raising=False)
    (tmp_path / "crossdock.yaml").write_text("version: 1\nconnections: {}\n")
    result = CliRunner().invoke(app, ["--workspace", str(tmp_path), "runs"])
    assert result.exit_code == 0, result.output
