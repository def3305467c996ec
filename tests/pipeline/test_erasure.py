"""Erasure end to end: real sandbox HTTP, the real sync, stitch and write-back, SQLite.

One person held by five systems is synced from three, stitched into one profile, written back to
the CRM and an ad audience; `crossdock erase` must remove them everywhere (the sandbox
systems included), a dry run must change nothing, a failing system must be reported while
the others proceed, and the next sync + stitch + write-back must not bring them back.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from flows.sync import sync_connection
from hub.cli import app
from hub.context import HubContext
from hub.destinations import open_destination
from hub.errors import ConfigError
from hub.governance.erasure import erase_person
from hub.governance.tombstones import Tombstones
from hub.identity.run import profile_tables, stitch_workspace
from hub.sandbox import Sandbox
from hub.sandbox.facebook import AUDIENCE_ID
from tests.pipeline.writeback import profile

pytestmark = pytest.mark.usefixtures("prefect_server")

SOURCES = {  # connection -> (connector, stream, mapping, auth in the source config)
    "crm": ("hubspot", "contacts", "hubspot/contacts", "access_token: sandbox-token"),
    "support": (
        "zendesk",
        "users",
        "zendesk/users",
        "credentials: {credentials: api_token, email: agent@example.com, api_token: sandbox-token}",
    ),
    "email": (
        "mailchimp",
        "list_members",
        "mailchimp/list_members",
        "credentials: {auth_type: apikey, apikey: sandbox-token}",
    ),
    "shop": ("shopify", "customers", "shopify/customers", "access_token: sandbox-token"),
    "consent": ("onetrust", "data_subjects", "onetrust/data_subjects", "access_token: sandbox-token"),
}

WRITEBACKS_AND_ERASURE = """\
  to_crm:
    source: {{warehouse: 'sqlite:///warehouse.db'}}
    destination:
      type: hubspot
      config: {{base_url: '{url}', access_token: sandbox-token, backoff_factor: 0.05}}
    streams:
      profiles: {{sync_mode: full_refresh, mapping: warehouse/profiles}}
  to_ads:
    source: {{warehouse: 'sqlite:///warehouse.db'}}
    destination:
      type: facebook
      config: {{base_url: '{url}', audience_id: '{audience}', access_token: sandbox-token}}
    streams:
      profiles: {{sync_mode: full_refresh, mapping: warehouse/profiles}}
governance:
  erasure:
    systems:
      support_desk:
        type: zendesk
        config:
          base_url: '{url}'
          credentials: {{credentials: api_token, email: agent@example.com, api_token: sandbox-token}}
      newsletter:
        type: mailchimp
        config: {{base_url: '{url}/3.0', list_id: '{list_id}', credentials: {{apikey: sandbox-token}}}}
      shop:
        type: shopify
        config: {{base_url: '{url}', access_token: sandbox-token, backoff_factor: 0.01, max_attempts: 2}}
      consent:
        type: onetrust
        config:
          base_url: '{url}'
          collection_point_token: cp-token
          access_token: sandbox-token
          purposes: {{marketing: p-1}}
"""


def _workspace(url: str, list_id: str) -> str:
    conns = []
    for name, (connector, stream, mapping, auth) in SOURCES.items():
        base = f"{url}/3.0" if connector == "mailchimp" else url
        conns.append(
            f"  {name}:\n"
            f"    source:\n"
            f"      connector: {connector}\n"
            f"      config: {{base_url: '{base}', start_date: '2020-01-01T00:00:00Z', backoff_factor: 0.05, "
            f"{auth}}}\n"
            f"    destination: {{type: sql, config: {{url: 'sqlite:///warehouse.db'}}}}\n"
            f"    streams:\n"
            f"      {stream}: {{mapping: {mapping}}}\n"
        )
    return (
        "version: 1\nconnections:\n"
        + "".join(conns)
        + WRITEBACKS_AND_ERASURE.format(url=url, audience=AUDIENCE_ID, list_id=list_id)
    )


def _emails_everywhere(sb: Sandbox) -> list[str]:
    """Addresses the CRM, help desk, email tool, shop and consent system all hold."""
    crm = {str(o["properties"].get("email") or "").lower() for o in sb.hubspot.objects("contacts").values()}
    desk = {str(u.get("email") or "").lower() for u in sb.zendesk._objects["users"].values()}
    mail = {m["email_address"].lower() for members in sb.mailchimp.members.values() for m in members.values()}
    shop = {str(c["email"] or "").lower() for c in sb.shopify.customers.values()}
    consent = {s["Identifier"].lower() for s in sb.onetrust.profiles.values()}
    return sorted(e for e in crm & desk & mail & shop & consent if e and not e.startswith("info@"))


class Erasure:
    def __init__(self, root: Path, sb: Sandbox) -> None:
        self.root, self.sb, self.ctx = root, sb, HubContext(root)

    def sync(self, *names: str) -> None:
        for name in names:
            sync_connection(name, workspace_dir=str(self.root))

    def warehouse_rows(self, email: str) -> dict[str, int]:
        db = open_destination("sql", {"url": f"sqlite:///{self.root / 'warehouse.db'}"})
        try:
            found = {}
            for table in [r[0] for r in db._query("SELECT name FROM sqlite_master WHERE type='table'")[1]]:
                if "email" in db.column_types(table):
                    n = db._query(f'SELECT COUNT(*) FROM "{table}" WHERE LOWER(email) = ?', [email])[1][0][0]
                    if n:
                        found[table] = n
            return found
        finally:
            db.close()

    def in_sandbox(self, email: str) -> dict[str, bool]:
        sb, h = self.sb, hashlib.sha256(email.encode()).hexdigest()
        with httpx.Client(base_url=sb.url, headers={"Authorization": "Bearer sandbox-token"}) as http:
            desk = http.get("/api/v2/users/search.json", params={"query": f"email:{email}"}).json()["count"]
            shop = http.get(
                "/admin/api/2024-01/customers/search.json",
                params={"query": f"email:{email}"},
                headers={"X-Shopify-Access-Token": "sandbox-token"},
            ).json()["customers"]
        return {
            "hubspot": any(
                str(o["properties"].get("email") or "").lower() == email
                for o in sb.hubspot.objects("contacts").values()
            ),
            "zendesk": desk > 0,
            "mailchimp": any(
                m["email_address"].lower() == email
                for ms in sb.mailchimp.members.values()
                for m in ms.values()
            ),
            "shopify": bool(shop),
            "onetrust": any(s["Identifier"].lower() == email for s in sb.onetrust.profiles.values()),
            "facebook": h in sb.facebook.audiences[AUDIENCE_ID],
        }


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Erasure, str]]:
    root = tmp_path_factory.mktemp("erasure")
    with Sandbox(seed=1, scale=60, port=0) as sb:
        (root / "crossdock.yaml").write_text(_workspace(sb.url, sb.mailchimp.lists[0]["id"]))
        hub = Erasure(root, sb)
        hub.sync("crm", "support", "shop")  # Mailchimp and OneTrust are found by email alone
        stitch_workspace(hub.ctx)
        hub.sync("to_crm", "to_ads")
        candidates = _emails_everywhere(sb)
        assert candidates, "the seeded sandbox has nobody in all five systems; change the seed"
        yield hub, candidates[0]


def test_dry_run_shows_where_and_changes_nothing(world: tuple[Erasure, str]) -> None:
    hub, email = world
    before_rows, before_sandbox = hub.warehouse_rows(email), hub.in_sandbox(email)
    assert set(before_rows) >= {"crm_contacts", "support_users", "shop_customers"}
    assert all(before_sandbox.values()), before_sandbox
    hits = dict(hub.sb.hits)

    with pytest.raises(ConfigError, match="--only names no erasure system nope"):
        erase_person(hub.ctx, email, dry_run=True, only={"nope"})
    report = erase_person(hub.ctx, _profile_of(hub, email), dry_run=True)  # by profile id

    assert report.profiles == 1 and report.records >= 3
    assert report.warehouse["warehouse.db/crm_contacts"] >= 1
    assert report.warehouse["profiles/profiles"] == 1 and "warehouse.db/profiles" not in report.warehouse
    assert report.store.get("writeback_snapshots", 0) >= 2  # the CRM and the audience
    assert {s.name: s.status for s in report.systems} == {
        name: "would_ask" for name in ("to_crm", "to_ads", "support_desk", "newsletter", "shop", "consent")
    }
    shown = CliRunner().invoke(app, ["--workspace", str(hub.root), "erase", email, "--dry-run"])
    assert shown.exit_code == 0, shown.output
    assert "would delete" in shown.output and "would_ask" in shown.output and "crm_contacts" in shown.output
    assert hub.sb.hits == hits, "a dry run called an API"
    assert hub.warehouse_rows(email) == before_rows
    assert hub.in_sandbox(email) == before_sandbox
    assert len(Tombstones.load(hub.ctx.engine, hub.ctx.keyring.pseudonym_key())) == 0


def test_erase_everywhere_one_failing_system_reported_then_retried(world: tuple[Erasure, str]) -> None:
    hub, email = world
    profile_id = _profile_of(hub, email)
    # Shopify fails both attempts of its delete call: the others must still go through.
    with hub.sb.faults.planted(
        path_prefix="/admin/api/2024-01/customers/6", kind="500", times=2, method="DELETE"
    ):
        report = erase_person(hub.ctx, email)
    statuses = {s.name: s.status for s in report.systems}
    assert statuses == {
        "to_crm": "deleted",
        "to_ads": "requested",
        "support_desk": "deleted",
        "newsletter": "deleted",
        "shop": "failed",
        "consent": "requested",
    }, report.systems
    assert report.retry == ["shop"]
    gone = hub.in_sandbox(email)
    assert gone == {**{k: False for k in gone}, "shopify": True}
    assert hub.warehouse_rows(email) == {}
    assert report.tombstones >= 2

    result = CliRunner().invoke(
        app,
        ["--workspace", str(hub.root), "erase", email, "--only", "shop", "--json"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert {s["name"]: s["status"] for s in json.loads(result.stdout)["systems"]} == {"shop": "deleted"}
    assert not any(hub.in_sandbox(email).values())

    # Nothing of them is left in the profile tables or the store, and the audit log names
    # a hash, never the address.
    db = open_destination("sql", {"url": f"sqlite:///{hub.root / 'warehouse.db'}"})
    try:
        for table in ("profiles", "profile_records", "profile_timeline", "profile_identifiers"):
            assert db.read_rows(table, where={"profile_id": profile_id}) == [], table
    finally:
        db.close()
    with hub.ctx.engine.connect() as conn:
        audit = " ".join(str(r) for r in conn.execute(text("SELECT * FROM audit_events")))
        snaps = conn.execute(text("SELECT COUNT(*) FROM writeback_snapshots WHERE record_ref = :r"),
                             {"r": f"crossdock:{profile_id}"}).scalar()  # fmt: skip
    assert "erasure.request" in audit and email not in audit.lower()
    assert snaps == 0


def test_next_sync_stitch_and_writeback_do_not_resurrect(world: tuple[Erasure, str]) -> None:
    hub, email = world
    # The CRM gets the person back (typed in again by a sales rep): synced, but never a
    # profile again, and never sent to the CRM or the audience.
    hub.sb.hubspot.create("contacts", {"email": email, "firstname": "Back", "lastname": "Again"})
    upserts = len(hub.sb.hubspot.upserts)
    synced = sync_connection("crm", workspace_dir=str(hub.root)).to_dict()
    # the SQL sync read them again but wrote nothing of them to the warehouse
    assert hub.warehouse_rows(email) == {}, "the erased person came back into the warehouse"
    assert synced["streams"]["contacts"]["erased_skipped"] == 1, synced
    stitch_workspace(hub.ctx)
    # And a profile row of theirs in the table write-back reads (another tool wrote it):
    db = open_destination("sql", {"url": f"sqlite:///{hub.root / 'warehouse.db'}"})
    try:
        spec = profile_tables()["profiles"]
        db.prepare(spec, "merge")
        db.write(spec, "merge", [profile(99999, email, profile_id="p_written_elsewhere")])
        db.finish(spec, "merge")
    finally:
        db.close()
    out = sync_connection("to_crm", workspace_dir=str(hub.root)).to_dict()

    db = open_destination("sql", {"url": f"sqlite:///{hub.root / 'warehouse.db'}"})
    try:
        assert [r["profile_id"] for r in db.read_rows("profiles", where={"email": email})] == [
            "p_written_elsewhere"
        ]  # stitching made no profile of them
        assert db.read_rows("profile_identifiers", where={"value": email}) == []
    finally:
        db.close()
    assert all(value != email for _, value in hub.sb.hubspot.upserts[upserts:])
    assert '"erased_skipped": 1' in json.dumps(out)


def _profile_of(hub: Erasure, email: str) -> str:
    db = open_destination("sql", {"url": f"sqlite:///{hub.root / 'warehouse.db'}"})
    try:
        rows = db.read_rows("profile_identifiers", where={"type": "email", "value": email})
    finally:
        db.close()
    assert rows, "the person has no profile"
    return str(rows[0]["profile_id"])
