"""`crossdock audit`: verify, tail, and an export that verifies on its own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from hub.cli import app
from hub.context import HubContext


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("CROSSDOCK_STORE_URL", raising=False)
    monkeypatch.delenv("CROSSDOCK_MASTER_KEY", raising=False)
    audit = HubContext(tmp_path).audit
    for i in range(4):
        audit.append("sync.end", target="crm" if i % 2 else "shop", details={"run": i})
    return tmp_path


def run(ws: Path, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["--workspace", str(ws), "audit", *args])


def test_export_verifies_on_its_own_and_a_tampered_export_does_not(ws: Path, tmp_path: Path) -> None:
    export = run(ws, "export")
    assert export.exit_code == 0
    lines = export.stdout.splitlines()
    assert len(lines) == 4
    file = tmp_path / "audit.jsonl"
    file.write_text(export.stdout)
    assert run(ws, "verify", "--file", str(file)).exit_code == 0

    edited = [json.loads(line) for line in lines]
    edited[1]["details"]["run"] = 42
    file.write_text("".join(json.dumps(e) + "\n" for e in edited))
    result = run(ws, "verify", "--file", str(file))
    assert result.exit_code == 1 and "entry 2 was edited" in result.output


def test_export_filters_and_is_itself_audited(ws: Path) -> None:
    only_crm = [json.loads(line) for line in run(ws, "export", "--connection", "crm").stdout
                .splitlines()]
    assert [e["details"]["run"] for e in only_crm] == [1, 3]
    assert HubContext(ws).audit.entries(action="audit.export")[0]["details"]["entries"] == 2


def test_verify_exit_code_names_the_bad_entry(ws: Path) -> None:
    assert run(ws, "verify").exit_code == 0
    with HubContext(ws).engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events WHERE seq = 2"))
    result = run(ws, "verify")
    assert result.exit_code == 1 and "entry 2 is missing" in result.output


def test_tail_json(ws: Path) -> None:
    result = run(ws, "tail", "-n", "2", "--json")
    assert [json.loads(line)["seq"] for line in result.stdout.splitlines()] == [3, 4]
