"""Write-back to HubSpot through the sandbox: real HTTP, the real pipeline and Prefect flow."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from hub.cli import app
from hub.context import HubContext
from hub.errors import ConfigError
from hub.sandbox import Sandbox
from hub.writeback.state import WritebackSnapshot, list_results
from tests.pipeline.writeback import WritebackHub, profile

pytestmark = pytest.mark.usefixtures("prefect_server")

UPSERT = "/crm/v3/objects/contacts/batch/upsert"


class HubSpotOut(WritebackHub):
    def upsert_calls(self) -> int:
        return self.calls(UPSERT)

    def contacts_by_email(self) -> dict[str, list[dict[str, Any]]]:
        found: dict[str, list[dict[str, Any]]] = {}
        for obj in self.sandbox.hubspot.objects("contacts").values():
            email = (obj["properties"].get("email") or "").strip().lower()
            found.setdefault(email, []).append(obj)
        return found


@pytest.fixture
def wb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.delenv("CROSSDOCK_STORE_URL", raising=False)
    with Sandbox(seed=7, scale=300, port=0) as sb:
        yield HubSpotOut(tmp_path, sb, "hubspot", {"access_token": "sandbox-token"})


def _existing_emails(sandbox: Sandbox, n: int) -> list[str]:
    objs = sorted(sandbox.hubspot.objects("contacts").values(), key=lambda o: int(o["id"]))
    return [o["properties"]["email"].strip().lower() for o in objs if o["properties"].get("email")][:n]


def test_round_trip_creates_updates_and_then_sends_only_changes(wb: WritebackHub) -> None:
    existing = _existing_emails(wb.sandbox, 120)
    rows = [profile(i, e, city="Bergen") for i, e in enumerate(existing)]
    rows += [profile(1000 + i, f"new.person{i}@example.org") for i in range(130)]
    wb.profiles(rows)
    before = len(wb.sandbox.hubspot.objects("contacts"))

    first = wb.sync()
    stream = first["streams"]["profiles"]
    assert first["status"] == "succeeded", first
    # Nothing was sent before; HubSpot answers `new: false` for the 120 emails it already had
    # (matched by email), so those count as updates, not creates.
    assert (stream["writeback"]["create"], stream["writeback"]["update"]) == (130, 120)
    assert stream["writeback"]["accepted"] == 250 and stream["writeback"]["rejected"] == 0
    assert stream["written"] == 250 and stream["dead_lettered"] == 0
    assert wb.upsert_calls() == 3  # 250 records in batches of HubSpot's limit, 100
    contacts = wb.contacts_by_email()
    assert len(wb.sandbox.hubspot.objects("contacts")) == before + 130
    assert all(len(contacts[e.lower()]) == 1 for e in existing)
    assert all(contacts[e.lower()][0]["properties"]["city"] == "Bergen" for e in existing)
    assert contacts["new.person7@example.org"][0]["properties"]["firstname"] == "First1007"

    second = wb.sync()
    assert second["streams"]["profiles"]["writeback"]["unchanged"] == 250
    assert second["streams"]["profiles"]["writeback"]["accepted"] == 0
    assert wb.upsert_calls() == 3, "an unchanged table must cost no API call"

    rows[5]["city"] = "Tromsø"
    wb.profiles(rows)
    third = wb.sync()["streams"]["profiles"]["writeback"]
    assert (third["update"], third["unchanged"], third["accepted"]) == (1, 249, 1)
    assert wb.upsert_calls() == 4
    assert wb.contacts_by_email()[existing[5].lower()][0]["properties"]["city"] == "Tromsø"
    results = list_results(wb.ctx.engine, wb.last_run())
    assert [(r.record_ref, r.action, r.status) for r in results] == [
        ("crossdock:p00005", "update", "accepted")
    ]


def test_a_rejected_record_does_not_fail_its_batch_mates(wb: WritebackHub) -> None:
    rows = [profile(i, f"person{i}@example.org") for i in range(150)]
    rows[42]["email"] = "not-an-email"
    rows[77]["lifecycle_stage"] = "wizard"  # not one of HubSpot's options
    rows[90]["email"] = None  # cannot be matched: rejected before sending
    wb.profiles(rows)

    result = wb.sync()
    counts = result["streams"]["profiles"]["writeback"]
    assert result["status"] == "succeeded"
    assert (counts["accepted"], counts["rejected"]) == (147, 3)
    rejected = {r.record_ref: r.reason for r in list_results(wb.ctx.engine, result["run_id"], "rejected")}
    assert set(rejected) == {"crossdock:p00042", "crossdock:p00077", "crossdock:p00090"}
    assert "INVALID_EMAIL" in rejected["crossdock:p00042"]
    assert "not-an-email" not in rejected["crossdock:p00042"], "match keys are not stored"
    assert "wizard was not one of the allowed options" in rejected["crossdock:p00077"]
    assert "no `email`" in rejected["crossdock:p00090"]
    listed = CliRunner().invoke(
        app, ["--workspace", str(wb.root), "results", result["run_id"], "--rejected", "--json"]
    )
    assert listed.exit_code == 0, listed.output
    assert sorted(r["record"] for r in json.loads(listed.output)) == sorted(rejected)
    emails = wb.contacts_by_email()
    assert all(f"person{i}@example.org" in emails for i in range(150) if i not in (42, 77, 90))

    rows[42]["email"] = "person42@example.org"  # fixed in the warehouse: sent next run
    wb.profiles(rows)
    again = wb.sync()["streams"]["profiles"]["writeback"]
    assert (again["create"], again["accepted"], again["rejected"]) == (2, 1, 2)


@pytest.mark.parametrize(
    ("kind", "extra"), [("lost", {}), ("429", {"retry_after": 0.2}), ("503", {}), ("truncated", {})]
)
def test_retried_batches_never_duplicate(wb: WritebackHub, kind: str, extra: dict[str, Any]) -> None:
    rows = [profile(i, f"retry{i}@example.org") for i in range(200)]
    wb.profiles(rows)
    before = len(wb.sandbox.hubspot.objects("contacts"))
    with wb.sandbox.faults.planted(path_prefix=UPSERT, kind=kind, times=2, **extra):
        result = wb.sync()
    assert result["status"] == "succeeded", result
    assert result["streams"]["profiles"]["writeback"]["accepted"] == 200
    emails = wb.contacts_by_email()
    assert len(wb.sandbox.hubspot.objects("contacts")) == before + 200
    assert all(len(emails[f"retry{i}@example.org"]) == 1 for i in range(200))


def test_retries_run_out_with_a_clear_error_and_nothing_claimed(wb: WritebackHub) -> None:
    wb.workspace(max_attempts=2)
    wb.profiles([profile(i, f"down{i}@example.org") for i in range(10)])
    with wb.sandbox.faults.planted(path_prefix=UPSERT, kind="500", times=None, at_least=2):
        result = wb.sync()  # max_attempts=2: both attempts must have met the fault
    stream = result["streams"]["profiles"]
    assert result["status"] == "failed"
    assert "HubSpot POST /crm/v3/objects/contacts/batch/upsert: gave up after 2 attempts" in stream["error"]
    from sqlmodel import Session, select

    with Session(wb.ctx.engine) as session:
        assert session.exec(select(WritebackSnapshot)).all() == []

    assert wb.sync()["streams"]["profiles"]["writeback"]["accepted"] == 10  # the fault has ended


def test_dry_run_counts_and_sends_nothing(wb: WritebackHub) -> None:
    existing = _existing_emails(wb.sandbox, 3)
    rows = [profile(i, e) for i, e in enumerate(existing)] + [profile(9, None)]
    wb.profiles(rows)
    wb.sync()
    rows[0]["city"] = "Paris"
    rows.append(profile(10, "brand.new@example.org"))
    rows.append(profile(11, "no.dates@example.org", last_updated_at=None, stitched_at=None))
    wb.profiles(rows)
    calls = wb.upsert_calls()

    result = CliRunner().invoke(app, ["--workspace", str(wb.root), "sync", "out", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "would create 1, would update 1, would delete 0; unchanged 2" in result.output
    assert "crossdock:p00010" in result.output and "crossdock:p00000" in result.output
    assert "1 row(s) cannot be sent" in result.output
    assert wb.upsert_calls() == calls
    assert list_results(wb.ctx.engine, wb.last_run()) == []
    dead = (
        wb.ctx.engine.connect()
        .exec_driver_sql("SELECT COUNT(*) FROM dead_letters WHERE run_id = ?", (wb.last_run(),))
        .scalar()
    )
    assert dead == 0  # counted in the summary, kept by the real run only
    after = wb.sync()["streams"]["profiles"]["writeback"]  # the dry run changed nothing
    assert (after["create"], after["update"], after["accepted"]) == (1, 1, 2)


def test_dry_run_on_a_sql_connection_is_refused(tmp_path: Path) -> None:
    (tmp_path / "crossdock.yaml").write_text(
        textwrap.dedent("""\
        version: 1
        connections:
          crm:
            source: {connector: hubspot, config: {base_url: "http://127.0.0.1:9"}}
            destination: {type: sql, config: {url: "sqlite:///w.db"}}
            streams: {contacts: {mapping: hubspot/contacts}}
        """)
    )
    result = CliRunner().invoke(app, ["--workspace", str(tmp_path), "sync", "crm", "--dry-run"])
    assert result.exit_code == 2
    assert "--dry-run previews a write-back" in result.output


def test_a_mapping_for_another_entity_is_refused_before_any_call(wb: WritebackHub) -> None:
    wb.workspace(mapping="hubspot/companies")  # maps to `account`; HubSpot contacts take `contact`
    wb.profiles([profile(1, "a@example.org")])
    from hub.pipeline.plan import plan_stream

    conn = wb.ctx.workspace().connection("out")
    with pytest.raises(ConfigError, match="targets `account`, but hubspot write-back takes `contact`"):
        plan_stream(wb.ctx, conn, "profiles", "run", False)
    assert wb.upsert_calls() == 0


def test_an_unknown_destination_type_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "crossdock.yaml").write_text(
        textwrap.dedent("""\
        version: 1
        connections:
          out:
            source: {warehouse: "sqlite:///w.db"}
            destination:
              type: hubspott
            streams: {profiles: {mapping: warehouse/profiles, sync_mode: full_refresh}}
        """)
    )
    with pytest.raises(ConfigError) as err:
        HubContext(tmp_path).workspace()
    assert "crossdock.yaml:6" in str(err.value)
    assert (
        "unknown destination type `hubspott`; known: sql, facebook, hubspot, mailchimp, "
        "onetrust, shopify, zendesk"
    ) in str(err.value)


def test_check_proves_the_destination_credentials_too(wb: HubSpotOut) -> None:
    wb.profiles([profile(1, "a@example.org")])
    runner, ws = CliRunner(), ["--workspace", str(wb.root)]
    ok = runner.invoke(app, [*ws, "check", "out"])
    assert ok.exit_code == 0, ok.output
    assert "destination check succeeded: the token reads HubSpot contacts" in ok.output

    wb.workspace(access_token="not-the-token")
    refused = runner.invoke(app, [*ws, "check", "out"])
    assert refused.exit_code == 1, refused.output
    assert "check failed for `out` destination (hubspot)" in refused.output
    assert "HubSpot refused the credentials (HTTP 401" in refused.output
    assert "not-the-token" not in refused.output
    assert wb.upsert_calls() == 0  # a check writes nothing
