"""crossdock.yaml validation: every error names the file, the line and the key."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from hub.errors import ConfigError
from hub.workspace import load_workspace, resolve_config, resolve_sqlite_url

MANIFEST = """
version: 6.0.0
type: DeclarativeSource
streams:
  - name: people
    incremental_sync: {type: DatetimeBasedCursor, cursor_field: updated_at}
  - $ref: "#/definitions/orgs"
definitions:
  orgs:
    name: orgs
"""

GOOD = """\
version: 1
connections:
  crm:
    source:
      connector: fake
      config:
        token: ${env:FAKE_TOKEN}
    destination:
      type: sql
      config:
        url: sqlite:///warehouse.db
    streams:
      people:
        mapping: fake/people
      orgs:
        sync_mode: full_refresh
        write_mode: overwrite
        mapping: fake/people
        table: organisations
    schedule: "0 3 * * *"
"""


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "connectors" / "fake").mkdir(parents=True)
    (tmp_path / "connectors" / "fake" / "manifest.yaml").write_text(MANIFEST)
    (tmp_path / "mappings" / "fake").mkdir(parents=True)
    (tmp_path / "mappings" / "fake" / "people.yaml").write_text("entity: contact\n")
    return tmp_path


def write(ws: Path, text: str) -> Path:
    path = ws / "crossdock.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_good_workspace_loads(workspace: Path) -> None:
    ws = load_workspace(write(workspace, GOOD))
    conn = ws.connection("crm")
    assert conn.source.connector == "fake"
    assert list(conn.streams) == ["people", "orgs"]
    assert conn.streams["people"].sync_mode == "incremental"
    assert conn.streams["people"].write_mode == "merge"
    assert conn.table_for("people") == "crm_people"
    assert conn.table_for("orgs") == "organisations"
    # references stay unresolved until use
    assert conn.source.config["token"] == "${env:FAKE_TOKEN}"


@pytest.mark.parametrize(
    ("old", "new", "line", "needle"),
    [
        ("      connector: fake", "      connector: nope", 5, "unknown connector `nope`"),
        ('    schedule: "0 3 * * *"', '    schedule: "every day"', 20, "not a valid cron"),
        (
            "        mapping: fake/people\n      orgs:",
            "        mapping: fake/missing\n      orgs:",
            14,
            "mapping `fake/missing` not found",
        ),
        ("      people:\n", "      peeple:\n", 13, "has no stream `peeple`"),
        ("        sync_mode: full_refresh\n", "        sync_mode: sometimes\n", 16, "sync_mode"),
        ("        table: organisations", "        tabel: organisations", 19, "unknown key"),
        ("        table: organisations", "        table: drop table;", 19, "table"),
        ("        sync_mode: full_refresh\n", "", 16, "needs sync_mode `full_refresh`"),
        ("    schedule:", "    shedule:", 20, "unknown key"),
        # a stream whose source keeps no cursor cannot be incremental (issue "The first hour")
        (
            "        sync_mode: full_refresh\n        write_mode: overwrite\n",
            "        sync_mode: incremental\n",
            16,
            "says `sync_mode: incremental`, but source `fake` has no cursor for it",
        ),
        (
            "        sync_mode: full_refresh\n        write_mode: overwrite\n",
            "",
            15,
            "is incremental (the default sync_mode), but source `fake` has no cursor for it (no "
            "incremental mode): it can only be read whole; write `sync_mode: full_refresh`",
        ),
    ],
)
def test_errors_name_file_line_and_key(workspace: Path, old: str, new: str, line: int, needle: str) -> None:
    assert old in GOOD
    path = write(workspace, GOOD.replace(old, new, 1))
    with pytest.raises(ConfigError) as info:
        load_workspace(path)
    message = str(info.value)
    assert f"{path}:{line}" in message
    assert needle in message


IDENTITY = """\
identity:
  schedule: "30 3 * * *"
  identifiers:
    - {type: email, field: email, normalize: email, max_per_profile: 3}
  match:
    fields: [{field: last_name, compare: name}]
    blocking: [[last_name]]
    threshold: 0.9
"""


@pytest.mark.parametrize(
    ("old", "new", "line", "needle"),
    [
        ("max_per_profile: 3", "max_per_profile: 0", 24, "greater than or equal to 1"),
        ("normalize: email", "normalize: mail", 24, "normalize"),
        ("compare: name", "compare: fuzzy", 26, "compare"),
        ("blocking: [[last_name]]", "blocking: [[first_name]]", 25, "not one of the match fields"),
        ("threshold: 0.9", "threshold: 1.5", 28, "less than 1"),
        ('schedule: "30 3 * * *"', 'schedule: "nightly"', 22, "not a valid cron"),
        ("  match:", "  matching:", 25, "unknown key"),
    ],
)
def test_identity_errors_name_file_line_and_key(
    workspace: Path, old: str, new: str, line: int, needle: str
) -> None:
    path = write(workspace, GOOD + IDENTITY.replace(old, new, 1))
    with pytest.raises(ConfigError) as info:
        load_workspace(path)
    message = str(info.value)
    assert f"{path}:{line}" in message, message
    assert needle in message, message


def test_yaml_syntax_error_names_line(workspace: Path) -> None:
    path = write(workspace, GOOD.replace("    streams:", "    streams: [oops", 1))
    with pytest.raises(ConfigError, match=r"crossdock.yaml:\d+: invalid YAML"):
        load_workspace(path)


def test_duplicate_key_is_an_error(workspace: Path) -> None:
    path = write(workspace, GOOD.replace("    schedule:", "    streams: {}\n    schedule:", 1))
    with pytest.raises(ConfigError, match="duplicate key `streams`"):
        load_workspace(path)


def test_missing_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="workspace file not found"):
        load_workspace(tmp_path / "crossdock.yaml")


def test_unknown_connection_lists_known(workspace: Path) -> None:
    ws = load_workspace(write(workspace, GOOD))
    with pytest.raises(ConfigError, match="no connection named `shop`.*crm"):
        ws.connection("shop")


def test_env_references_resolve_at_use(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_TOKEN", "t0k")
    monkeypatch.delenv("UNSET_VAR", raising=False)
    config = {
        "token": "${env:FAKE_TOKEN}",
        "url": "http://${env:UNSET_VAR:-localhost}:1/x",
        "nested": [{"n": 1}],
    }
    assert resolve_config(config, where="c") == {
        "token": "t0k",
        "url": "http://localhost:1/x",
        "nested": [{"n": 1}],
    }
    with pytest.raises(ConfigError, match="environment variable UNSET_VAR is not set") as info:
        resolve_config({"a": {"b": "${env:UNSET_VAR}"}}, where="conn")
    assert "conn.a.b" in str(info.value)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///wh.db", "sqlite:///{root}/wh.db"),
        ("sqlite:////abs/wh.db", "sqlite:////abs/wh.db"),
        ("postgresql://postgres@127.0.0.1/test", "postgresql://postgres@127.0.0.1/test"),
    ],
)
def test_sqlite_paths_are_relative_to_the_workspace(tmp_path: Path, url: str, expected: str) -> None:
    assert resolve_sqlite_url(url, tmp_path) == expected.format(root=tmp_path.resolve())


def test_repo_workspace_is_valid() -> None:
    """The crossdock.yaml we ship must load (its connectors and mappings exist)."""
    root = Path(__file__).resolve().parents[2]
    ws = load_workspace(root / "crossdock.yaml")
    assert "crm" in ws.connections
