"""Write-back reconciliation against the sandbox: writes the vendor accepted and silently
dropped are found exactly (missing, different, extra), repaired, and then reconcile is clean.

The write-back runs go through the pipeline itself (begin_run, plan_stream, sync_stream,
end_run), without Prefect: what is under test is what the destination holds afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hub.errors import ConfigError
from hub.monitoring import load_metrics
from hub.pipeline import begin_run, end_run, plan_stream, sync_stream
from hub.pipeline.info import RunInfo
from hub.pipeline.run import new_run_id
from hub.reconcile.writeback import reconcile_writeback, repair_writeback
from hub.sandbox import Sandbox
from hub.sandbox.mailchimp import subscriber_hash
from hub.sandbox.onetrust import PURPOSES
from hub.sandbox.shopify import API, LOCATIONS
from tests.pipeline.test_writeback_onetrust import OneTrustOut
from tests.pipeline.test_writeback_shopify import ShopifyOut
from tests.pipeline.writeback import WritebackHub, profile

MAIN = LOCATIONS[0][1]


def send(hub: WritebackHub) -> RunInfo:
    """One write-back run of connection `out`, as the flow runs it."""
    ctx = hub.ctx
    conn = ctx.workspace().connection("out")
    run_id = new_run_id()
    begin_run(ctx, "out", False, run_id=run_id)
    infos = [sync_stream(plan_stream(ctx, conn, stream, run_id, False)) for stream in conn.streams]
    return end_run(ctx, run_id, "out", False, infos, 1.0, conn.destination.type)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(seed=7, scale=60, port=0) as sb:
        yield sb


@pytest.fixture
def store(request: pytest.FixtureRequest) -> str:
    return getattr(request, "param", "sqlite")


@pytest.fixture
def crm(
    request: pytest.FixtureRequest,
    store: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    sandbox: Sandbox,
) -> WritebackHub:
    if store == "postgres":  # the hub's store (snapshot, results) on PostgreSQL
        monkeypatch.setenv("CROSSDOCK_STORE_URL", request.getfixturevalue("pg_schema_url"))
    else:
        monkeypatch.delenv("CROSSDOCK_STORE_URL", raising=False)
    return WritebackHub(tmp_path, sandbox, "hubspot", {"access_token": "sandbox-token"})


def _rows(n: int, **changes: Any) -> list[dict[str, Any]]:
    rows = [profile(i, f"person{i}@example.org") for i in range(n)]
    for i, row in enumerate(rows):
        row.update(changes.get(f"p{i}", {}))
    return rows


@pytest.mark.parametrize(
    "store", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_hubspot_writes_accepted_then_dropped_are_found_exactly_and_repaired(crm: WritebackHub) -> None:
    theirs = sum(1 for o in crm.sandbox.hubspot.objects("contacts").values() if o["properties"].get("email"))
    crm.profiles(_rows(12))
    first = send(crm)
    assert first.streams[0].writeback["accepted"] == 12  # type: ignore[index]

    clean = reconcile_writeback(crm.ctx, "out", "profiles")
    assert (clean.checked, clean.equal, clean.differences) == (12, 12, 0)
    assert clean.unmanaged == theirs, "the CRM's own contacts are counted, not differences"

    # Profile 3 moves to Bergen and profile 12 is new; HubSpot answers 200 to the batch and
    # keeps none of it.
    crm.profiles(_rows(13, p3={"city": "Bergen"}))
    with crm.sandbox.faults.planted("/crm/v3/objects/contacts/batch/upsert", "dropped", times=1):
        second = send(crm)
    assert second.status == "succeeded" and second.streams[0].writeback["accepted"] == 2  # type: ignore[index]

    found = reconcile_writeback(crm.ctx, "out", "profiles")
    assert found.missing == ("crossdock:p00012",)
    assert found.different == ("crossdock:p00003",)
    assert dict(found.fields) == {"city": 1}
    assert (found.extra, found.equal, found.differences, found.unsent) == ((), 11, 2, 0)

    repaired = repair_writeback(crm.ctx, found)
    assert repaired.clean and (repaired.checked, repaired.equal) == (13, 13)
    [audit] = crm.ctx.audit.entries(action="reconcile.writeback.repair")
    assert audit["details"]["accepted"] == 2 and audit["details"]["missing"] == 1
    held = {o["properties"].get("email"): o for o in crm.sandbox.hubspot.objects("contacts").values()}
    assert held["person3@example.org"]["properties"]["city"] == "Bergen"
    assert "person12@example.org" in held


def test_a_hand_edit_in_the_crm_is_different_and_a_pending_change_is_not(crm: WritebackHub) -> None:
    crm.profiles(_rows(4))
    send(crm)
    contact = next(
        oid
        for oid, o in crm.sandbox.hubspot.objects("contacts").items()
        if o["properties"].get("email") == "person1@example.org"
    )
    crm.sandbox.hubspot.update("contacts", contact, {"lastname": "Edited", "jobtitle": "theirs"})
    crm.profiles(_rows(4, p2={"city": "Tromso"}))  # changed in the warehouse, not sent yet

    report = reconcile_writeback(crm.ctx, "out", "profiles")
    assert report.different == ("crossdock:p00001",) and dict(report.fields) == {"lastname": 1}
    assert (report.pending, report.missing, report.equal) == (1, (), 2)

    crm.profiles([*_rows(4), profile(4, "person4@example.org")])
    assert reconcile_writeback(crm.ctx, "out", "profiles").unsent == 1, "new since the last run"


def test_the_reconcile_command_checks_a_write_back_and_repairs_it(crm: WritebackHub) -> None:
    """`crossdock reconcile CONN` on a write-back connection: exit 3 and the counts while the CRM
    holds a hand edit, then `--repair` sends the hub's value back and exits 0."""
    import json

    from typer.testing import CliRunner

    from hub.cli import app

    crm.profiles(_rows(3))
    send(crm)
    contact = next(
        oid
        for oid, o in crm.sandbox.hubspot.objects("contacts").items()
        if o["properties"].get("email") == "person2@example.org"
    )
    crm.sandbox.hubspot.update("contacts", contact, {"lastname": "Edited"})

    def reconcile(*args: str) -> tuple[int, dict[str, Any]]:
        result = CliRunner().invoke(app, ["--workspace", str(crm.root), "reconcile", "out", *args, "--json"])
        return result.exit_code, json.loads(result.stdout)

    code, found = reconcile()
    assert code == 3 and found["status"] == "differences", found
    assert (found["streams"][0]["different"], found["streams"][0]["different_sample"]) == (
        1,
        ["crossdock:p00002"],
    )
    code, repaired = reconcile("--repair")
    assert code == 0 and repaired["status"] == "clean", repaired
    assert repaired["before"][0]["differences"] == 1 and repaired["streams"][0]["equal"] == 3
    assert crm.sandbox.hubspot.objects("contacts")[contact]["properties"]["lastname"] != "Edited"


@pytest.fixture
def email(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox: Sandbox) -> WritebackHub:
    monkeypatch.delenv("CROSSDOCK_STORE_URL", raising=False)
    list_id = sandbox.mailchimp.lists[0]["id"]
    hub = WritebackHub(
        tmp_path,
        sandbox,
        "mailchimp",
        {"base_url": f"{sandbox.url}/3.0", "list_id": list_id, "credentials": {"apikey": "sandbox-token"}},
    )
    hub.workspace(write_mode="overwrite")
    return hub


def test_mailchimp_a_dropped_create_and_dropped_deletes_are_missing_and_extra(email: WritebackHub) -> None:
    list_id = email.sandbox.mailchimp.lists[0]["id"]
    members = email.sandbox.mailchimp.members[list_id]
    email.profiles(_rows(8))
    send(email)
    assert reconcile_writeback(email.ctx, "out", "profiles").clean

    # Profiles 6 and 7 leave the table (their members are archived) and profile 8 arrives;
    # Mailchimp answers every call as done and keeps none of it.
    email.profiles(_rows(6) + [profile(8, "person8@example.org")])
    with (
        email.sandbox.faults.planted(f"/3.0/lists/{list_id}", "dropped", times=1, method="POST"),
        email.sandbox.faults.planted(f"/3.0/lists/{list_id}/members/", "dropped", times=2, method="DELETE"),
    ):
        run = send(email)
    assert run.streams[0].writeback["delete"] == 2  # type: ignore[index]
    gone = sorted(subscriber_hash(f"person{i}@example.org") for i in (6, 7))
    assert all(m in members for m in gone) and subscriber_hash("person8@example.org") not in members

    found = reconcile_writeback(email.ctx, "out", "profiles")
    assert found.missing == ("crossdock:p00008",) and found.extra == tuple(gone)
    assert (found.different, found.equal, found.differences) == ((), 6, 3)
    assert found.to_dict()["extra_sample"] == gone

    repaired = repair_writeback(email.ctx, found)
    assert repaired.clean, repaired.to_dict()
    assert all(m not in members for m in gone) and subscriber_hash("person8@example.org") in members

    # The series kept each run's write-back counts for the anomaly detector.
    since = datetime.now(UTC) - timedelta(hours=1)
    assert [r["writeback_sent"] for r in load_metrics(email.ctx.engine, "out", since)] == [8, 3]


@pytest.fixture
def desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox: Sandbox) -> WritebackHub:
    monkeypatch.delenv("CROSSDOCK_STORE_URL", raising=False)
    creds = {"credentials": "api_token", "email": "agent@example.com", "api_token": "sandbox-token"}
    return WritebackHub(tmp_path, sandbox, "zendesk", {"credentials": creds})


def test_zendesk_a_dropped_create_and_update_are_found_and_sent_again(desk: WritebackHub) -> None:
    users = desk.sandbox.zendesk.objects("users")
    desk.profiles(_rows(5))
    send(desk)
    assert reconcile_writeback(desk.ctx, "out", "profiles").clean

    # Profile 2 is renamed and profile 5 is new; Zendesk's job reports both done, keeps neither.
    desk.profiles(_rows(6, p2={"last_name": "Renamed"}))
    path = "/api/v2/users/create_or_update_many.json"
    with desk.sandbox.faults.planted(path, "dropped", times=1, method="POST"):
        assert send(desk).streams[0].writeback["accepted"] == 2  # type: ignore[index]
    held = {u["email"]: u for u in users.values() if u.get("email")}
    assert "person5@example.org" not in held and held["person2@example.org"]["name"] == "First2 Last2"

    found = reconcile_writeback(desk.ctx, "out", "profiles")
    assert (found.missing, found.different) == (("crossdock:p00005",), ("crossdock:p00002",))
    assert dict(found.fields) == {"name": 1} and (found.equal, found.differences) == (4, 2)

    repaired = repair_writeback(desk.ctx, found)
    assert repaired.clean and repaired.equal == 6, repaired.to_dict()
    held = {u["email"]: u for u in users.values() if u.get("email")}
    assert held["person2@example.org"]["name"] == "First2 Renamed" and "person5@example.org" in held


def test_shopify_a_dropped_level_is_found_and_set_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox: Sandbox
) -> None:
    monkeypatch.delenv("CROSSDOCK_STORE_URL", raising=False)
    shop = ShopifyOut(
        tmp_path, sandbox, "shopify", {"access_token": "sandbox-token", "location_id": MAIN}, stream="stock"
    )
    tracked = [
        v["sku"]
        for p in sandbox.shopify.products
        for v in p["variants"]
        if v["sku"] and v["inventory_management"] == "shopify"
    ][:4]
    shop.stock([(sku, MAIN, 10 + i) for i, sku in enumerate(tracked)])
    send(shop)
    assert reconcile_writeback(shop.ctx, "out", "stock").clean

    # One level moves to 99; Shopify answers 200 and keeps the old number.
    shop.stock([(sku, MAIN, 99 if i == 1 else 10 + i) for i, sku in enumerate(tracked)])
    with sandbox.faults.planted(f"{API}/inventory_levels/set.json", "dropped", times=1):
        assert send(shop).streams[0].writeback["accepted"] == 1  # type: ignore[index]
    level = (sandbox.shopify.item_for(tracked[1]), MAIN)
    assert sandbox.shopify.levels[level] == 11

    found = reconcile_writeback(shop.ctx, "out", "stock")
    assert found.different == (f"warehouse:{tracked[1]}@{MAIN}",) and dict(found.fields) == {"available": 1}
    assert (found.missing, found.extra, found.equal) == ((), (), 3)

    repaired = repair_writeback(shop.ctx, found)
    assert repaired.clean and repaired.equal == 4, repaired.to_dict()
    assert sandbox.shopify.levels[level] == 99


def test_onetrust_a_dropped_withdrawal_is_different_and_a_dropped_consent_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox: Sandbox
) -> None:
    monkeypatch.delenv("CROSSDOCK_STORE_URL", raising=False)
    purposes = {"newsletter": PURPOSES["newsletter"], "profiling": PURPOSES["profiling"]}
    config = {
        "collection_point_token": "sandbox-token",
        "access_token": "sandbox-token",
        "purposes": purposes,
    }
    ot = OneTrustOut(tmp_path, sandbox, "onetrust", config, stream="consents")
    ot.consents(
        [("a@example.org", "newsletter", "granted", 0), ("b@example.org", "newsletter", "granted", 0)]
    )
    send(ot)
    assert reconcile_writeback(ot.ctx, "out", "consents").clean

    # a withdraws (h 2) and c consents; OneTrust answers each receipt and keeps neither.
    ot.consents(
        [
            ("a@example.org", "newsletter", "withdrawn", 2),
            ("b@example.org", "newsletter", "granted", 0),
            ("c@example.org", "profiling", "granted", 1),
        ]
    )
    with sandbox.faults.planted("/request/v1/consentreceipts", "dropped", times=2):
        assert send(ot).streams[0].writeback["accepted"] == 2  # type: ignore[index]
    assert sandbox.onetrust.subjects["a@example.org"][PURPOSES["newsletter"]] == "ACTIVE"

    found = reconcile_writeback(ot.ctx, "out", "consents")
    assert found.missing == ("warehouse:c@example.org/profiling",)
    assert found.different == ("warehouse:a@example.org/newsletter",)
    assert dict(found.fields) == {"interactionDate": 1, "purposes": 1} and found.equal == 1

    repaired = repair_writeback(ot.ctx, found)
    assert repaired.clean and repaired.equal == 3, repaired.to_dict()
    assert sandbox.onetrust.subjects["a@example.org"][PURPOSES["newsletter"]] == "WITHDRAWN"
    assert sandbox.onetrust.subjects["c@example.org"][PURPOSES["profiling"]] == "ACTIVE"


def test_a_connector_that_cannot_read_back_and_a_sql_connection_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox: Sandbox
) -> None:
    monkeypatch.delenv("CROSSDOCK_STORE_URL", raising=False)
    # Facebook's Custom Audiences API never lists an audience's members (docs/reconciliation.md)
    hub = WritebackHub(tmp_path, sandbox, "facebook", {"audience_id": "1", "access_token": "x"})
    with pytest.raises(ConfigError, match="facebook write-back cannot read its records back"):
        reconcile_writeback(hub.ctx, "out", "profiles")
    with pytest.raises(ConfigError, match="has no stream `nope`"):
        reconcile_writeback(hub.ctx, "out", "nope")
    (tmp_path / "crossdock.yaml").write_text(
        "version: 1\nconnections:\n  crm:\n    source: {connector: hubspot}\n"
        "    destination: {type: sql, config: {url: 'sqlite:///wh.db'}}\n"
        "    streams:\n      contacts: {mapping: hubspot/contacts}\n"
    )
    with pytest.raises(ConfigError, match="writes to SQL, not a SaaS tool"):
        reconcile_writeback(hub.ctx, "crm", "contacts")
