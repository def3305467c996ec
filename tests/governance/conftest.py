"""A governed workspace on the sandbox: OneTrust consents synced into the warehouse, profiles
written back to Mailchimp (purpose email_marketing) and to a SQL copy (analytics, PII hashed).

The pipeline runs as the flow runs it (begin_run -> plan_stream -> sync_stream -> end_run),
without a Prefect server, so these tests stay in the fast tier."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hub.context import HubContext
from hub.destinations import open_destination
from hub.identity.run import profile_tables
from hub.pipeline.plan import plan_stream
from hub.pipeline.run import begin_run, end_run
from hub.pipeline.stream import sync_stream
from hub.sandbox import Sandbox

STAMP = datetime(2026, 11, 1, tzinfo=UTC)

GOVERNANCE = """\
governance:
  purposes:
    email_marketing: {consent: [newsletter]}
    analytics: {consent: [profiling]}
    advertising: {consent: [profiling]}
    records: {consent: none}
  regions:
    eu: {countries: [Norway, 'NO', Germany, DE, Portugal], consent: opt_in, send_to: [eu]}
    us: {countries: [United States, US], consent: opt_out, send_to: [us, eu]}
  consents: {connection: consent, stream: purpose_consents}
  pii:
    copy: {email: hash, phone: tokenise, first_name: mask, last_name: drop}
"""

WORKSPACE = """\
version: 1
connections:
  consent:
    source:
      connector: onetrust
      config:
        base_url: {url}
        access_token: sandbox-token
        start_date: "2020-01-01T00:00:00Z"
        backoff_factor: 0.05
    destination:
      type: sql
      purpose: records
      region: eu
      config: {warehouse}
    streams:
      purpose_consents:
        mapping: onetrust/purpose_consents
  out:
    source:
      warehouse: {warehouse_url}
    destination:
      type: mailchimp
      purpose: email_marketing
      region: {out_region}
      config:
        base_url: {url}/3.0
        list_id: {list_id}
        credentials: {{apikey: sandbox-token}}
        backoff_factor: 0.05
    streams:
      profiles:
        sync_mode: full_refresh
        mapping: warehouse/profiles
  copy:
    source:
      warehouse: {warehouse_url}
    destination:
      type: sql
      purpose: analytics
      region: {copy_region}
      config: {copy}
    streams:
      profiles:
        sync_mode: full_refresh
        write_mode: overwrite
        mapping: warehouse/profiles
        table: governed_profiles
{extra}"""

CRM = """\
  crm:
    source:
      warehouse: {warehouse_url}
    destination:
      type: hubspot
      purpose: email_marketing
      region: eu
      config: {{base_url: '{url}', access_token: sandbox-token, consent_property: crossdock_consent}}
    streams:
      profiles:
        sync_mode: full_refresh
        mapping: warehouse/profiles
"""

ADS = """\
  ads:
    source:
      warehouse: {warehouse_url}
    destination:
      type: facebook
      purpose: advertising
      region: eu
      config: {{base_url: '{url}', audience_id: '23850000000000001', access_token: sandbox-token}}
    streams:
      profiles:
        sync_mode: full_refresh
        mapping: warehouse/profiles
"""


class GovernedHub:
    def __init__(self, root: Path, sb: Sandbox, warehouse: dict[str, Any], copy: dict[str, Any]) -> None:
        self.root, self.sandbox, self.warehouse, self.copy = root, sb, warehouse, copy
        self.ctx = HubContext(root)
        self.write_workspace()

    @property
    def list_id(self) -> str:
        return str(self.sandbox.mailchimp.lists[0]["id"])

    def write_workspace(
        self, out_region: str = "eu", governance: str = GOVERNANCE, extra: str = "", copy_region: str = "eu"
    ) -> None:
        flow = lambda d: "{" + ", ".join(f"{k}: '{v}'" for k, v in d.items()) + "}"  # noqa: E731
        (self.root / "crossdock.yaml").write_text(
            textwrap.dedent(WORKSPACE).format(
                url=self.sandbox.url,
                warehouse=flow(self.warehouse),
                warehouse_url=self.warehouse["url"],
                copy=flow(self.copy),
                list_id=self.list_id,
                out_region=out_region,
                copy_region=copy_region,
                extra=extra.format(url=self.sandbox.url, warehouse_url=self.warehouse["url"]),
            )
            + governance
        )

    def sync(self, name: str, dry_run: bool = False) -> dict[str, Any]:
        """One run of `name` through the real pipeline (the flow's steps, no Prefect server)."""
        conn = self.ctx.workspace().connection(name)
        run_id = begin_run(self.ctx, name, False, dry_run)
        infos = [sync_stream(plan_stream(self.ctx, conn, s, run_id, False, dry_run)) for s in conn.streams]
        return end_run(self.ctx, run_id, name, False, infos, 0.0, conn.destination.type).to_dict()

    def profiles(self, rows: list[dict[str, Any]]) -> None:
        spec = profile_tables()["profiles"]
        db = open_destination("sql", self.warehouse)
        try:
            db.prepare(spec, "overwrite")
            db.write(spec, "overwrite", rows)
            db.finish(spec, "overwrite")
        finally:
            db.close()

    def rows(self, where: dict[str, Any], table: str) -> list[dict[str, Any]]:
        db = open_destination("sql", where)
        try:
            return db.read_rows(table) if db.has_table(table) else []
        finally:
            db.close()

    def sent(self) -> set[str]:
        """The addresses the hub upserted into the list (the sandbox logs each batch member)."""
        ids = {mid for list_id, mid in self.sandbox.mailchimp.upserts if list_id == self.list_id}
        return {
            m["email_address"]
            for m in self.sandbox.mailchimp.members[self.list_id].values()
            if m["id"] in ids
        }

    def members(self) -> dict[str, dict[str, Any]]:
        return {m["email_address"]: m for m in self.sandbox.mailchimp.members[self.list_id].values()}


def profile(i: int, email: str, country: str, **extra: Any) -> dict[str, Any]:
    return {
        "profile_id": f"p{i:05d}",
        "email": email,
        "phone": f"+4790000{i:03d}",
        "first_name": f"First{i}",
        "last_name": f"Last{i}",
        "city": "Oslo",
        "country": country,
        "lifecycle_stage": "lead",
        "record_count": 1,
        "sources": "onetrust",
        "confidence": 1.0,
        "last_updated_at": STAMP,
        "stitched_at": STAMP,
        "run_id": "r",
        **extra,
    }


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(seed=7, scale=300, port=0) as sb:
        yield sb


@pytest.fixture
def governed(tmp_path: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> GovernedHub:
    monkeypatch.delenv("CROSSDOCK_STORE_URL", raising=False)
    return GovernedHub(
        tmp_path,
        sandbox,
        {"url": f"sqlite:///{tmp_path / 'warehouse.db'}"},
        {"url": f"sqlite:///{tmp_path / 'copy.db'}"},
    )
