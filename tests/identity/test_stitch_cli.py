"""`crossdock stitch --explain-config`: the match fields and blocking rules in use, and why."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from typer.testing import CliRunner

from hub.cli import app

runner = CliRunner()

WORKSPACE = """\
version: 1
connections:
  support:
    source: {manifest: fake.yaml}
    destination: {type: sql, config: {url: "sqlite:///warehouse.db"}}
    streams:
      users: {mapping: fake/users, sync_mode: full_refresh}
identity:
  match:
    max_block_size: 40
    fields:
      - {field: email, compare: exact}
      - {field: first_name, compare: name}
      - {field: last_name, compare: name}
      - {field: city, compare: name}
    blocking: [[last_name, "first_name:1"], [city]]
  memory_limit: 1GB
"""
MAPPING = """\
source: fake
stream: users
entity: contact
fields:
  source: {const: fake}
  source_id: {path: id}
  email: {path: email}
  first_name: {path: first}
  last_name: {path: last}
  updated_at: {path: updated}
"""


def workspace(tmp_path: Path) -> Path:
    (tmp_path / "fake.yaml").write_text(
        "version: 6.0.0\ntype: DeclarativeSource\nstreams:\n  - name: users\n"
    )
    (tmp_path / "mappings" / "fake").mkdir(parents=True)
    (tmp_path / "mappings" / "fake" / "users.yaml").write_text(MAPPING)
    (tmp_path / "crossdock.yaml").write_text(textwrap.dedent(WORKSPACE))
    return tmp_path


def test_explain_config_names_fields_rules_and_why(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    result = runner.invoke(app, ["--workspace", str(ws), "stitch", "--explain-config", "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    match = info["match"]
    assert (match["fields_from"], match["blocking_from"], match["max_block_size"]) == (
        "crossdock.yaml",
    ) * 2 + (40,)
    fields = {f["field"]: f for f in match["fields"]}
    assert fields["first_name"]["mapped_by"] == ["support.users"]
    assert fields["email"]["why"].startswith("an identifier")
    # No contact stream maps a city: the field is always missing, and its rule makes no pair.
    assert fields["city"]["mapped_by"] == [] and "no contact stream maps it" in fields["city"]["why"]
    rules = {r["rule"]: r for r in match["blocking"]}
    assert rules["last_name + first_name:1"]["split_by"] == ["first_name", "city"]
    assert rules["city"]["why"] == "makes no pairs: no contact stream maps city"
    assert info["memory_limit"] == "1GB"

    text = runner.invoke(app, ["--workspace", str(ws), "stitch", "--explain-config"])
    assert text.exit_code == 0, text.output
    assert "last_name + first_name:1" in text.stdout and "max_block_size 40" in text.stdout


def test_explain_config_shows_the_defaults_when_identity_is_not_set(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    (ws / "crossdock.yaml").write_text(textwrap.dedent(WORKSPACE).split("identity:")[0])
    result = runner.invoke(app, ["--workspace", str(ws), "stitch", "--explain-config", "--json"])
    assert result.exit_code == 0, result.output
    match = json.loads(result.stdout)["match"]
    assert (match["fields_from"], match["blocking_from"]) == ("default", "default")
    assert match["fields"] and match["blocking"]  # whatever the defaults are, they are listed
