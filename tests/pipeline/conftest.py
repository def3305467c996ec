"""End-to-end fixtures: a live sandbox, a workspace pointing at it, a real Prefect server."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from hub.context import HubContext
from hub.destinations import open_destination
from hub.sandbox import Sandbox

WORKSPACE = """\
version: 1
connections:
  crm:
    source:
      connector: hubspot
      config:
        base_url: {url}
        access_token: sandbox-token
        start_date: "2020-01-01T00:00:00Z"
        backoff_factor: 0.1
    destination:
      type: sql
      config: {destination}
    streams:
      contacts:
        mapping: hubspot/contacts
        batch_size: 500
      companies:
        mapping: hubspot/companies
  support:
    source:
      connector: zendesk
      config:
        base_url: {url}
        credentials: {{credentials: api_token, email: agent@example.com, api_token: sandbox-token}}
        start_date: "2020-01-01T00:00:00Z"
        page_size: 200
        backoff_factor: 0.1
    destination:
      type: sql
      config: {destination}
    streams:
      users:
        mapping: zendesk/users
      organizations:
        mapping: zendesk/organizations
      tickets:
        mapping: zendesk/tickets
      satisfaction_ratings:
        mapping: zendesk/satisfaction_ratings
  support_comments:
    source:
      connector: zendesk
      config:
        base_url: {url}
        credentials: {{credentials: api_token, email: agent@example.com, api_token: sandbox-token}}
        start_date: "2020-01-01T00:00:00Z"
        page_size: 200
        backoff_factor: 0.1
    destination:
      type: sql
      config: {destination}
    streams:
      ticket_comments:
        mapping: zendesk/ticket_comments
  email:
    source:
      connector: mailchimp
      config:
        base_url: {url}/3.0
        credentials: {{auth_type: apikey, apikey: sandbox-token}}
        start_date: "2020-01-01T00:00:00Z"
        page_size: 200
        backoff_factor: 0.1
    destination:
      type: sql
      config: {destination}
    streams:
      lists:
        sync_mode: full_refresh
        write_mode: overwrite
        mapping: mailchimp/lists
      campaigns:
        sync_mode: full_refresh
        mapping: mailchimp/campaigns
      list_members:
        mapping: mailchimp/list_members
      email_activity:
        mapping: mailchimp/email_activity
  social:
    source:
      connector: facebook
      config:
        base_url: {url}
        page_id: "104000000000001"
        access_token: sandbox-token
        start_date: "2024-06-01T00:00:00Z"
        page_size: 25
        backoff_factor: 0.1
    destination:
      type: sql
      config: {destination}
    streams:
      page_posts:
        mapping: facebook/page_posts
      post_comments:
        sync_mode: full_refresh
        mapping: facebook/post_comments
      page_insights:
        mapping: facebook/page_insights
  shop:
    source:
      connector: shopify
      config:
        base_url: {url}
        access_token: sandbox-token
        start_date: "2020-01-01T00:00:00Z"
        page_size: 100
        backoff_factor: 0.1
    destination:
      type: sql
      config: {destination}
    streams:
      customers:
        mapping: shopify/customers
      orders:
        mapping: shopify/orders
      products:
        mapping: shopify/products
      locations:
        sync_mode: full_refresh
        write_mode: overwrite
        mapping: shopify/locations
      inventory_levels:
        sync_mode: full_refresh
        write_mode: overwrite
        mapping: shopify/inventory_levels
  consent:
    source:
      connector: onetrust
      config:
        base_url: {url}
        access_token: sandbox-token
        start_date: "2020-01-01T00:00:00Z"
        page_size: 40
        backoff_factor: 0.1
    destination:
      type: sql
      config: {destination}
    streams:
      data_subjects:
        mapping: onetrust/data_subjects
      purpose_consents:
        mapping: onetrust/purpose_consents
"""


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[None]:
    """One real (temporary) Prefect server for the session's flow runs."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(seed=7, scale=1500, port=0) as sb:
        yield sb


@dataclass
class Hub:
    """A workspace in a temp folder, wired to the sandbox and one backend."""

    ctx: HubContext
    destination: dict[str, Any]
    sandbox: Sandbox

    def rows(self, table: str) -> list[dict[str, Any]]:
        dest = open_destination("sql", self.destination)
        try:
            return dest.read_rows(table)
        finally:
            dest.close()

    def assert_destination_equals_source(self) -> None:
        for stream, table in (("contacts", "crm_contacts"), ("companies", "crm_companies")):
            rows = self.rows(table)
            keys = [r["source_id"] for r in rows]
            assert len(keys) == len(set(keys)), f"{table}: duplicate keys"
            source = {
                oid: instant(o["updatedAt"])
                for oid, o in self.sandbox.hubspot.objects(stream).items()
                if not o.get("archived")
            }
            dest = {r["source_id"]: instant(r["updated_at"]) for r in rows}
            missing, extra = set(source) - set(dest), set(dest) - set(source)
            stale = {k for k in source.keys() & dest.keys() if source[k] != dest[k]}
            assert not (missing or extra or stale), (
                f"{table}: missing {sorted(missing)[:5]}, extra {sorted(extra)[:5]}, "
                f"stale {sorted(stale)[:5]}"
            )


def instant(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres), "duckdb"])
def hub(
    request: pytest.FixtureRequest, tmp_path: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> Hub:
    if request.param == "sqlite":
        destination: dict[str, Any] = {"url": f"sqlite:///{tmp_path / 'warehouse.db'}"}
        monkeypatch.delenv("CROSSDOCK_STORE_URL", raising=False)
    elif request.param == "duckdb":  # the store stays on SQLite: DuckDB is a destination only
        destination = {"url": f"duckdb:///{tmp_path / 'warehouse.duckdb'}"}
        monkeypatch.delenv("CROSSDOCK_STORE_URL", raising=False)
    else:
        schema = request.getfixturevalue("pg_schema")
        destination = {"url": "postgresql://postgres@127.0.0.1:5432/test", "schema": schema}
        monkeypatch.setenv("CROSSDOCK_STORE_URL", request.getfixturevalue("pg_schema_url"))
    (tmp_path / "crossdock.yaml").write_text(
        textwrap.dedent(WORKSPACE).format(
            url=sandbox.url, destination="{" + ", ".join(f"{k}: '{v}'" for k, v in destination.items()) + "}"
        )
    )
    return Hub(HubContext(tmp_path), destination, sandbox)
