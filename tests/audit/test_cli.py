"""`crossdock audit`: verify (chain and anchored head), tail, acknowledge, and an export that
carries its own anchors and verifies on its own; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from hub.cli import app
from hub.context import HubContext


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def ws(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("CROSSDOCK_STORE_URL", raising=False)
    monkeypatch.delenv("CROSSDOCK_MASTER_KEY", raising=False)
    monkeypatch.delenv("CROSSDOCK_AUDIT_HEAD", raising=False)
    if request.param == "postgres":
        monkeypatch.setenv("CROSSDOCK_STORE_URL", request.getfixturevalue("pg_schema_url"))
    (tmp_path / "crossdock.yaml").write_text("version: 1\nconnections: {}\n")  # the CLI wants one
    audit = HubContext(tmp_path).audit
    for i in range(4):
        audit.append("sync.end", target="crm" if i % 2 else "shop", details={"run": i})
    return tmp_path


def run(ws: Path, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["--workspace", str(ws), "audit", *args])


def sql(ws: Path, statement: str) -> None:
    with HubContext(ws).engine.begin() as conn:
        conn.execute(text(statement))


def export_lines(ws: Path, *args: str) -> list[str]:
    result = run(ws, "export", *args)
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()


def verify_file(ws: Path, lines: list[str]):  # type: ignore[no-untyped-def]
    file = ws / "audit.jsonl"
    file.write_text("".join(line + "\n" for line in lines))
    return run(ws, "verify", "--file", str(file))


def test_export_verifies_on_its_own_and_a_tampered_export_does_not(ws: Path) -> None:
    lines = export_lines(ws)
    header = json.loads(lines[0])
    assert len(lines) == 1 + 4 and header["entries"] == 4
    assert (header["start"]["seq"], header["end"]["seq"], header["head"]["seq"]) == (0, 4, 4)
    result = verify_file(ws, lines)
    assert result.exit_code == 0 and "4 entries verified up to entry 4" in result.output

    edited = [json.loads(line) for line in lines[1:]]
    edited[1]["details"]["run"] = 42
    result = verify_file(ws, [lines[0], *(json.dumps(e) for e in edited)])
    assert result.exit_code == 1 and "entry 2 was edited" in result.output


@pytest.mark.parametrize(
    ("cut", "problem"),
    [
        (lambda lines: lines[2:], "does not start with its signed header"),  # header and entry 1
        (lambda lines: [lines[0], *lines[3:]], "holds 2 entries but its header says 4"),
        (lambda lines: lines[:-1], "holds 3 entries but its header says 4"),
    ],
)
def test_an_export_with_lines_cut_off_does_not_verify(
    ws: Path, cut: Callable[[list[str]], list[str]], problem: str
) -> None:
    result = verify_file(ws, cut(export_lines(ws)))
    assert result.exit_code == 1 and problem in result.output


def test_an_export_from_mid_log_anchors_its_start(ws: Path) -> None:
    # A `--since` export starts mid-chain: its header names the entry before it, so an export
    # whose first entries were cut and whose header was rebuilt by hand is refused.
    sql(ws, "UPDATE audit_events SET at = '2020-01-01' WHERE seq <= 2")  # old entries
    lines = export_lines(ws, "--since", "2021-01-01")
    assert [json.loads(line)["seq"] for line in lines[1:]] == [3, 4]
    assert json.loads(lines[0])["start"]["seq"] == 2
    assert verify_file(ws, lines).exit_code == 0
    forged = json.loads(lines[0])
    forged["start"] = {"seq": 3, "entry_hash": json.loads(lines[1])["entry_hash"]}
    forged["entries"] = 1
    result = verify_file(ws, [json.dumps(forged), lines[2]])
    assert result.exit_code == 1 and "header was edited" in result.output


def test_export_filters_and_is_itself_audited(ws: Path) -> None:
    lines = export_lines(ws, "--connection", "crm")
    assert [json.loads(line)["details"]["run"] for line in lines[1:]] == [1, 3]
    assert HubContext(ws).audit.entries(action="audit.export")[0]["details"]["entries"] == 2
    assert verify_file(ws, lines).exit_code == 0  # each entry's signature; the header's count
    result = verify_file(ws, [lines[0], lines[2]])
    assert result.exit_code == 1 and "holds 1 entries but its header says 2" in result.output


def test_verify_exit_code_names_the_bad_entry(ws: Path) -> None:
    assert run(ws, "verify").exit_code == 0
    sql(ws, "DELETE FROM audit_events WHERE seq = 2")
    result = run(ws, "verify")
    assert result.exit_code == 1 and "entry 2 is missing" in result.output


@pytest.mark.parametrize(
    ("delete", "problem"),
    [
        ("DELETE FROM audit_events", "the log is empty"),
        ("DELETE FROM audit_events WHERE seq > 2", "entries 3 to 4 were cut off the end"),
    ],
)
def test_verify_finds_deleted_newest_entries(ws: Path, delete: str, problem: str) -> None:
    sql(ws, delete)
    result = run(ws, "verify")
    assert result.exit_code == 1 and "audit log tampered" in result.output
    assert problem in result.output and "audit-head.json anchored entry 4" in result.output


def test_acknowledge_after_a_cut_lets_the_hub_write_again(ws: Path) -> None:
    sql(ws, "DELETE FROM audit_events WHERE seq > 2")
    refused = run(ws, "export")  # audited before it prints: refused, prints nothing
    assert refused.exit_code == 1 and refused.stdout == ""
    assert "refusing to write to the audit log" in refused.output
    assert "crossdock audit acknowledge --reason" in refused.output
    assert run(ws, "acknowledge", "--reason", " ").exit_code == 2
    acked = run(ws, "acknowledge", "--reason", "restored hub.db from last night's backup")
    assert acked.exit_code == 0 and "acknowledged as entry 3" in acked.output
    assert run(ws, "verify").exit_code == 0
    tail = [json.loads(line) for line in run(ws, "tail", "-n", "1", "--json").stdout.splitlines()]
    assert tail[0]["action"] == "audit.acknowledge"
    assert tail[0]["details"]["reason"] == "restored hub.db from last night's backup"
    again = run(ws, "acknowledge", "--reason", "again")
    assert again.exit_code == 0 and "nothing to acknowledge" in again.output


def test_verify_against_an_exports_head(ws: Path) -> None:
    # An export kept elsewhere is a second anchor: after a cut (and the head file lost with it),
    # the store no longer reaches the head the export recorded.
    export = ws / "kept.jsonl"
    export.write_text("\n".join(export_lines(ws)) + "\n")  # head: entry 4
    sql(ws, "DELETE FROM audit_events WHERE seq > 3")
    HubContext(ws).audit_head_file.unlink()
    result = run(ws, "verify", "--anchor", str(export))
    assert result.exit_code == 1 and "entry 4 was cut off the end" in result.output
    assert str(export) in result.output


def test_a_row_that_is_not_json_is_reported_not_a_traceback(ws: Path) -> None:
    if HubContext(ws).engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's json column refuses text that is not JSON")
    sql(ws, "UPDATE audit_events SET details = '{broken' WHERE seq = 2")
    result = run(ws, "verify")
    assert result.exit_code == 1 and "entry 2 has details '{broken'" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert run(ws, "tail", "-n", "3").exit_code == 0


def test_tail_json(ws: Path) -> None:
    result = run(ws, "tail", "-n", "2", "--json")
    assert [json.loads(line)["seq"] for line in result.stdout.splitlines()] == [3, 4]


@pytest.mark.parametrize(
    "since", ["2021-01-01", "2021-01-01T00:00:00", "2021-01-01T00:00:00Z", "2021-01-01T01:00:00+01:00"]
)
def test_export_since_takes_dates_and_date_times_with_or_without_a_zone(ws: Path, since: str) -> None:
    sql(ws, "UPDATE audit_events SET at = '2020-12-31 23:59:59' WHERE seq <= 2")
    lines = export_lines(ws, "--since", since)
    assert [json.loads(line)["seq"] for line in lines[1:]] == [3, 4]
    assert json.loads(lines[0])["filters"]["since"] == "2021-01-01T00:00:00+00:00"


def test_export_since_that_is_not_a_date_is_one_line_exit_2(ws: Path) -> None:
    result = run(ws, "export", "--since", "last tuesday")
    assert result.exit_code == 2 and "is not a date" in result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output
