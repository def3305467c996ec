"""A connection can run any Airbyte source: a manifest.yaml by path, or a connector package.

The package test installs the real `airbyte-source-faker` from the package
index into its own virtualenv (it needs airbyte-cdk < 7, we run 7.x) and runs
it as a program, as Airbyte does.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.sync import sync_connection
from hub.cli import app
from hub.context import HubContext
from hub.destinations import open_destination
from hub.errors import ConfigError
from hub.sandbox import Sandbox
from hub.workspace import load_workspace
from tests.connector_packages import FAKER, install, preinstalled

ROOT = Path(__file__).resolve().parents[2]

# The per-test timeout covers the test itself, not the session's one install of the package
# (a busy machine or a slow index can take minutes): that has its own, in PackageSource.
pytestmark = [pytest.mark.usefixtures("prefect_server"), pytest.mark.timeout(300, func_only=True)]


@pytest.fixture(scope="session")
def connectors_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The connector package installed once for the whole session, before any test runs
    (by `.ci/run`, or here)."""
    return preinstalled() or install(tmp_path_factory.mktemp("connectors"))


@pytest.fixture
def faker_ws(tmp_path: Path, connectors_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("CROSSDOCK_CONNECTORS_DIR", str(connectors_dir))
    monkeypatch.delenv("CROSSDOCK_STORE_URL", raising=False)
    (tmp_path / "crossdock.yaml").write_text(f"""\
version: 1
connections:
  fake:
    source:
      package: {FAKER}
      config: {{count: 300, seed: 5, always_updated: false}}
    destination:
      config: {{url: "duckdb:///warehouse.duckdb"}}
    streams:
      users: {{mapping: faker/users}}
""")
    yield tmp_path


def rows(url: str, table: str) -> list[dict]:  # type: ignore[type-arg]
    dest = open_destination("sql", {"url": url})
    try:
        return dest.read_rows(table)
    finally:
        dest.close()


def test_a_connector_package_discovers_and_syncs_incrementally(faker_ws: Path) -> None:
    runner, ws = CliRunner(), ["--workspace", str(faker_ws)]
    discovered = runner.invoke(app, [*ws, "discover", "fake", "--json"])
    assert discovered.exit_code == 0, discovered.output
    streams = {s["name"]: s for s in json.loads(discovered.output)}
    assert set(streams) == {"users", "products", "purchases"}
    assert streams["users"]["cursor_field"] == ["updated_at"]
    assert runner.invoke(app, [*ws, "check", "fake"]).exit_code == 0

    first = sync_connection("fake", workspace_dir=str(faker_ws)).to_dict()
    assert first["status"] == "succeeded", first
    users = first["streams"]["users"]
    assert users["read"] == 300 and users["written"] == 300 and users["dead_lettered"] == 0
    got = rows(f"duckdb:///{faker_ws / 'warehouse.duckdb'}", "fake_users")
    assert sorted(int(r["source_id"]) for r in got) == list(range(1, 301))
    assert all(r["email"] and r["email"] == r["email"].lower() for r in got)
    assert all(r["_cd_connection"] == "fake" for r in got)

    # the saved state goes back to the connector: nothing new to read
    second = sync_connection("fake", workspace_dir=str(faker_ws)).to_dict()
    assert second["status"] == "succeeded" and second["streams"]["users"]["read"] == 0, second


def test_an_unknown_package_stream_fails_that_stream_with_the_streams_it_has(faker_ws: Path) -> None:
    text = (
        (faker_ws / "crossdock.yaml")
        .read_text()
        .replace(
            "users: {mapping: faker/users}",
            "users: {mapping: faker/users}\n      people: {mapping: faker/users}",
        )
    )
    (faker_ws / "crossdock.yaml").write_text(text)
    result = sync_connection("fake", workspace_dir=str(faker_ws)).to_dict()
    assert result["status"] == "partial"
    assert result["streams"]["users"]["status"] == "succeeded"
    error = result["streams"]["people"]["error"]
    assert "no stream `people`" in error and "users" in error and "purchases" in error


def test_a_manifest_by_path_syncs_like_our_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CROSSDOCK_STORE_URL", raising=False)
    # a copy of our HubSpot connector outside connectors/, with its components.py
    shutil.copytree(ROOT / "connectors" / "hubspot", tmp_path / "vendor" / "my-crm")
    with Sandbox(seed=2, scale=120) as sb:
        (tmp_path / "crossdock.yaml").write_text(f"""\
version: 1
connections:
  mine:
    source:
      manifest: vendor/my-crm/manifest.yaml
      config: {{base_url: "{sb.url}", access_token: sandbox-token}}
    destination:
      config: {{url: "sqlite:///wh.db"}}
    streams:
      contacts: {{mapping: hubspot/contacts}}
""")
        result = sync_connection("mine", workspace_dir=str(tmp_path)).to_dict()
        assert result["status"] == "succeeded", result
        assert len(rows(f"sqlite:///{tmp_path / 'wh.db'}", "mine_contacts")) == len(
            sb.hubspot.objects("contacts")
        )


def test_source_kinds_are_checked_when_the_workspace_loads(tmp_path: Path) -> None:
    def load(source: str, streams: str = "contacts: {mapping: hubspot/contacts}") -> None:
        (tmp_path / "crossdock.yaml").write_text(
            f"version: 1\nconnections:\n  c:\n    source:\n{source}\n"
            f"    destination: {{config: {{url: 'sqlite:///x.db'}}}}\n    streams:\n      {streams}\n"
        )
        load_workspace(tmp_path / "crossdock.yaml")

    with pytest.raises(ConfigError, match=r"exactly one of `connector`.*\['connector', 'package'\]"):
        load("      connector: hubspot\n      package: airbyte-source-faker")
    with pytest.raises(ConfigError, match="exactly one of") as none:
        load("      config: {}")
    assert "crossdock.yaml:4" in str(none.value)
    with pytest.raises(ConfigError, match=r"manifest `nope/manifest.yaml` not found") as missing:
        load("      manifest: nope/manifest.yaml")
    assert "crossdock.yaml:5" in str(missing.value)
    shutil.copytree(ROOT / "connectors" / "hubspot", tmp_path / "crm")
    with pytest.raises(ConfigError, match="has no stream `tickets`; it has: contacts, companies"):
        load("      manifest: crm/manifest.yaml", "tickets: {mapping: hubspot/contacts}")
    with pytest.raises(ConfigError, match="is not a package requirement"):
        from hub.sources import PackageSource

        PackageSource("airbyte-source-faker; rm -rf /", {}, tmp_path)


def test_a_package_that_cannot_be_installed_is_a_clear_error(tmp_path: Path) -> None:
    from hub.sources import PackageSource

    source = PackageSource("crossdock-no-such-connector-package==0.0.1", {}, tmp_path)
    with pytest.raises(
        ConfigError, match="cannot install connector package `crossdock-no-such-connector-package==0.0.1`"
    ):
        source.spec()
    assert HubContext(tmp_path).connectors_dir == tmp_path / ".crossdock" / "connectors"
