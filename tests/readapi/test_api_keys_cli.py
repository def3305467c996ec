"""`crossdock api-keys`: a bad scope is refused before any key exists; the token is shown once and
kept only as a hash; making and revoking are audited."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from hub.cli import app
from hub.context import HubContext
from hub.readapi.keys import ApiKeyRow


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "crossdock.yaml").write_text("version: 1\nconnections: {}\n")
    return tmp_path


def run(ws: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--workspace", str(ws), *args])
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("scope", "says"),
    [
        (["entities=profile,gizmo"], "unknown gizmo"),
        (["entities=profile"], "needs --scope purposes"),  # reads people without a purpose
        (["entities=order", "purposes=newsletter", "fields=total"], "not a personal field"),
        (["entities=contact", "purposes=newsletter", "fields=order.total"], "not a personal field of order"),
        (["purposes=newsletter"], "entities=... is required"),
        (["colour=blue", "entities=product"], "KIND=A,B"),
    ],
)
def test_a_bad_scope_makes_no_key(workspace: Path, scope: list[str], says: str) -> None:
    code, out = run(workspace, "api-keys", "create", "k", *[a for s in scope for a in ("--scope", s)])
    assert code == 2 and says in out, out
    assert json.loads(run(workspace, "api-keys", "list", "--json")[1]) == []


def test_token_shown_once_stored_hashed_and_audited(workspace: Path) -> None:
    code, out = run(workspace, "api-keys", "create", "bi", "--scope", "entities=product", "--json")
    assert code == 0, out
    token = json.loads(out)["token"]
    secret = token.rsplit("_", 1)[1]
    with Session(HubContext(workspace).engine) as session:
        row = session.exec(select(ApiKeyRow)).one()
    assert secret not in row.model_dump_json() and len(row.secret_hash) == 64
    listed = run(workspace, "api-keys", "list", "--json")[1]
    assert secret not in listed and json.loads(listed)[0]["status"] == "active"
    assert run(workspace, "api-keys", "create", "bi", "--scope", "entities=product")[0] == 2  # name taken
    assert run(workspace, "api-keys", "create", "x", "--scope", "entities=product", "--rate", "fast")[0] == 2
    assert (
        run(workspace, "api-keys", "create", "x", "--scope", "entities=product", "--expires-in", "0d")[0] == 2
    )
    assert run(workspace, "api-keys", "revoke", "bi")[0] == 0
    code, out = run(workspace, "api-keys", "revoke", "bi")
    assert code == 2 and "revoked already" in out
    assert run(workspace, "api-keys", "revoke", "nobody")[0] == 2
    log = run(workspace, "audit", "tail", "--json")[1]
    actions = [json.loads(line)["action"] for line in log.splitlines()]
    assert actions == ["api_key.create", "api_key.revoke"] and secret not in log
