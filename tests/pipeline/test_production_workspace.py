"""The production example workspace (docs/deploy/crossdock.yaml, the one the compose image runs)
syncs as shipped: store and warehouse in their own PostgreSQL schemas, credentials as hub secrets,
the connection pointed at the sandbox the way the compose `demo` profile does (issue 17)."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from hub.cli import app
from hub.sandbox import Sandbox
from tests.conftest import PG_URL

pytestmark = pytest.mark.postgres
WORKSPACE = Path(__file__).resolve().parents[2] / "docs" / "deploy" / "crossdock.yaml"


@pytest.fixture
def warehouse_url() -> Iterator[str]:
    """A second fresh schema: the warehouse apart from the store, as in compose."""
    name = f"w_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{name}"
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{name}" CASCADE')


@pytest.mark.usefixtures("prefect_server")
def test_the_shipped_production_workspace_syncs_into_postgresql(
    tmp_path: Path, pg_schema_url: str, warehouse_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(WORKSPACE, tmp_path / "crossdock.yaml")
    with Sandbox(seed=11, scale=120, port=0) as sb:
        for name, value in {
            "CROSSDOCK_STORE_URL": pg_schema_url,
            "CROSSDOCK_WAREHOUSE_URL": warehouse_url,
            "CROSSDOCK_HUBSPOT_URL": sb.url,  # docs/deploy/demo.env: http://sandbox:8765
            "CROSSDOCK_ZENDESK_URL": sb.url,
        }.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("CROSSDOCK_MASTER_KEY", raising=False)

        def invoke(*args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
            return CliRunner().invoke(app, ["--workspace", str(tmp_path), *args], input=stdin)

        missing = invoke("sync", "crm")  # the secret is not set yet: named, nothing run
        assert missing.exit_code == 2 and "HUBSPOT_ACCESS_TOKEN" in missing.output
        assert invoke("secrets", "set", "HUBSPOT_ACCESS_TOKEN", stdin="sandbox-token\n").exit_code == 0

        result = invoke("sync", "crm", "--streams", "contacts", "--json")
        assert result.exit_code == 0, result.output
        summary = json.loads(result.stdout)
        assert summary["status"] == "succeeded"
        contacts = len(sb.hubspot.objects("contacts"))
        assert summary["streams"]["contacts"]["written"] == contacts

    with psycopg.connect(warehouse_url) as conn:
        assert conn.execute("SELECT count(*) FROM crm_contacts").fetchone() == (contacts,)
    with psycopg.connect(pg_schema_url) as conn:  # the store: its own schema, at the newest revision
        assert conn.execute("SELECT status FROM sync_runs").fetchall() == [("succeeded",)]
        assert conn.execute("SELECT count(*) FROM crossdock_schema_version").fetchone() == (1,)
    assert not (tmp_path / ".crossdock" / "hub.db").exists()
    assert not (tmp_path / ".crossdock" / "warehouse.db").exists()
