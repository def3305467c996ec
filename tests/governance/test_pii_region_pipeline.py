"""PII per destination and residency on the real pipeline (warehouse -> governed SQL copy, and
-> Mailchimp), the CLI's `policy test` and `explain-decision`, and one PostgreSQL case."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.cli import app
from hub.governance.decisions import decisions_for
from hub.sandbox import Sandbox
from tests.governance.conftest import GOVERNANCE, GovernedHub, profile

runner = CliRunner()


def _cli(hub: GovernedHub, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--workspace", str(hub.root), *args])
    return result.exit_code, result.output


def _consented(hub: GovernedHub, purpose_id: str, n: int) -> list[str]:
    return [
        e
        for e, p in sorted(hub.sandbox.onetrust.subjects.items())
        if p.get(purpose_id) == "ACTIVE" and "@" in e and not e.startswith("info@")
    ][:n]


def _copy_rows(hub: GovernedHub) -> dict[str, dict[str, object]]:
    return {str(r["source_id"]): r for r in hub.rows(hub.copy, "governed_profiles")}


def test_the_governed_copy_has_no_raw_pii_and_withheld_people_are_not_in_it(governed: GovernedHub) -> None:
    from hub.sandbox.onetrust import PURPOSES

    ok = _consented(governed, PURPOSES["profiling"], 2)
    governed.profiles(
        [
            profile(1, ok[0].upper(), "United States"),  # opt-out region: consent allows
            profile(2, ok[1], "Germany"),  # opt-in, profiling granted
            profile(3, "nobody.asked@example.org", "Germany"),  # opt-in, no consent at all: denied
            # unknown region: strictest (opt-in); an email typed into `city`, a field not marked pii
            profile(4, "unknown.place@example.org", "Atlantis", city="ask joe@example.net"),
        ]
    )
    governed.sync("consent")
    result = governed.sync("copy")
    stream = result["streams"]["profiles"]
    assert result["status"] == "succeeded", result
    rows = _copy_rows(governed)
    assert sorted(rows) == ["p00001", "p00002"], "people without analytics consent reached the copy"
    one = rows["p00001"]
    assert one["email"] == hashlib.sha256(ok[0].lower().encode()).hexdigest()  # normalised SHA-256
    assert str(one["phone"]).startswith("tok_") and "4790000001" not in str(one["phone"])
    assert one["first_name"] == "F***" and one["last_name"] is None
    assert one["country"] == "United States"  # not PII: kept
    gov = stream["governance"]
    assert gov["dropped"] == 2 and gov["changed"] == 2, gov
    assert gov["rules"]["drop:consent.analytics"] == 2
    assert gov["unclassified_pii"] == {"city": 1}  # reported by field name, never the value

    # tokens are stable: the same phone, the same token, run after run
    first = one["phone"]
    governed.sync("copy")
    assert _copy_rows(governed)["p00001"]["phone"] == first

    # a policy change is audited once, old and new hash, at the next run
    governed.write_workspace(governance=GOVERNANCE.replace("last_name: drop", "last_name: mask"))
    governed.sync("copy")
    assert _copy_rows(governed)["p00001"]["last_name"] == "L***"
    changes = [e["details"] for e in governed.ctx.audit.entries(action="policy.change")]
    assert len(changes) == 2 and changes[1]["old_hash"] == changes[0]["new_hash"] != changes[1]["new_hash"]

    code, out = _cli(governed, "explain-decision", "crossdock:p00003")
    assert code == 0 and "consent.analytics" in out and "no consent recorded" in out, out
    code, out = _cli(governed, "explain-decision", "p00004", "--json")
    assert code == 0 and json.loads(out)[0]["rule"] == "consent.analytics", out


def test_residency_keeps_eu_people_out_of_a_us_destination(governed: GovernedHub) -> None:
    from hub.sandbox.onetrust import PURPOSES

    emails = _consented(governed, PURPOSES["newsletter"], 8)[4:8]
    governed.write_workspace(out_region="us")  # the email tool now keeps its data in the US
    governed.profiles(
        [
            profile(10, emails[0], "Germany"),  # EU person: may go to eu only
            profile(11, emails[1], "United States"),  # US person: us or eu
            profile(12, emails[2], None),  # unknown region: strictest (eu only)
        ]
    )
    governed.sync("consent")
    preview = governed.sync("out", dry_run=True)["streams"]["profiles"]  # counts, stores nothing
    assert preview["governance"]["dropped"] == 2
    assert decisions_for(governed.ctx.engine, "crossdock:p00010") == []
    stream = governed.sync("out")["streams"]["profiles"]
    assert [d.rule for d in decisions_for(governed.ctx.engine, "p00010")] == ["region.eu"]
    sent = governed.sent()
    assert emails[1] in sent
    assert emails[0] not in sent and emails[2] not in sent, "EU / unknown-region data went to the US"
    assert stream["governance"]["rules"] == {"drop:region.eu": 1, "drop:region.unknown": 1}
    # a SaaS destination cannot be asked for the record: its plan says what applied if sent
    code, out = _cli(governed, "explain-decision", "p00011", "--json")
    [entry] = [e for e in json.loads(out) if e["connection"] == "out"]
    assert entry["kind"] == "pii" and entry["outcome"].startswith("if sent in this run"), entry
    assert {f["field"]: f["done"] for f in entry["fields"]}["email"] == "kept as is (no rule)"
    code, out = _cli(governed, "explain-decision", "p00010", "--json")
    assert [(e["kind"], e["rule"]) for e in json.loads(out) if e["connection"] == "out"] == [
        ("held", "region.eu")
    ]


def test_policy_test_shows_each_decision_and_writes_nothing(governed: GovernedHub) -> None:
    governed.profiles(
        [profile(20, "nobody.here@example.org", "Germany"), profile(21, "x@example.org", "Peru")]
    )
    code, out = _cli(governed, "policy", "test", "copy", "--sample", "5", "--json")
    assert code == 0, out
    lines = {r["record_key"]: r for r in json.loads(out)}
    assert lines["crossdock:p00020"]["outcome"] == "dropped"
    assert lines["crossdock:p00020"]["rule"] == "consent.analytics"
    assert "nobody.here" not in out  # rule and field names, never values
    assert governed.rows(governed.copy, "governed_profiles") == []  # nothing written


_US = "us: {countries: [US], send_to: [us, eu]}"


@pytest.mark.parametrize(
    ("governance", "line_has", "message"),
    [
        (
            "purposes: {analytics: {consent: none}, records: {consent: none}}",
            "purpose: email_marketing",
            "unknown purpose `email_marketing`",
        ),
        ("pii: {copy: {emali: hash}}", "emali", "unknown field `emali`"),
        (
            "regions: {eu: {countries: [Germany], send_to: [eu]}, us: {countries: [Germany], send_to: [us]}}",
            "regions:",
            "country `Germany` is in region `eu` and `us`",
        ),
        (
            "regions: {eu: {countries: [DE], consent: opt_in, allow: [granted, pending], send_to: [eu]}, "
            + _US
            + "}",
            "regions:",
            "`consent: opt_in` allows only `granted`",
        ),
        (
            f"regions: {{eu: {{countries: [DE], send_to: [mars]}}, {_US}}}",
            "regions:",
            "unknown region `mars`",
        ),
    ],
)
def test_a_bad_policy_stops_the_load_at_its_line_and_nothing_is_sent(
    governed: GovernedHub, governance: str, line_has: str, message: str
) -> None:
    parts = {
        "purposes": "purposes: {analytics: {consent: none}, records: {consent: none}, "
        "email_marketing: {consent: [newsletter]}}",
        "regions": f"regions: {{eu: {{countries: [Germany], send_to: [eu]}}, {_US}}}",
    }
    parts[governance.split(":", 1)[0]] = governance
    governed.write_workspace(governance="governance:\n" + "".join(f"  {v}\n" for v in parts.values()))
    before = len(governed.sandbox.mailchimp.upserts)
    code, out = _cli(governed, "sync", "out")
    assert code == 2, out
    lines = (governed.root / "crossdock.yaml").read_text().splitlines()
    flat = "".join(out.split("\n"))
    assert message in flat, out
    where = int(flat.split("crossdock.yaml:", 1)[1].split()[0])
    assert line_has in lines[where - 1], (where, lines[where - 1])
    assert len(governed.sandbox.mailchimp.upserts) == before


@pytest.mark.postgres
def test_consent_denies_on_postgresql(
    tmp_path: Path, sandbox: Sandbox, pg_schema: str, pg_schema_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CROSSDOCK_STORE_URL", pg_schema_url)
    pg = {"url": "postgresql://postgres@127.0.0.1:5432/test", "schema": pg_schema}
    hub = GovernedHub(tmp_path, sandbox, {"url": f"sqlite:///{tmp_path / 'warehouse.db'}"}, pg)
    hub.profiles(
        [profile(30, "never.asked@example.org", "Germany"), profile(31, "us.person@example.org", "US")]
    )
    hub.sync("consent")
    stream = hub.sync("copy")["streams"]["profiles"]
    rows = hub.rows(pg, "governed_profiles")
    assert [r["source_id"] for r in rows] == ["p00031"]  # the EU person without consent is held
    assert stream["governance"]["rules"]["drop:consent.analytics"] == 1


@pytest.mark.postgres
def test_residency_and_pii_deny_on_postgresql(
    tmp_path: Path, sandbox: Sandbox, pg_schema: str, pg_schema_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A governed copy in the US on PostgreSQL: an EU person (with consent) is held back by
    residency, a US person goes with every PII field transformed: no raw value lands."""
    from hub.sandbox.onetrust import PURPOSES

    monkeypatch.setenv("CROSSDOCK_STORE_URL", pg_schema_url)
    pg = {"url": "postgresql://postgres@127.0.0.1:5432/test", "schema": pg_schema}
    hub = GovernedHub(tmp_path, sandbox, {"url": f"sqlite:///{tmp_path / 'warehouse.db'}"}, pg)
    hub.write_workspace(copy_region="us")
    eu, us = _consented(hub, PURPOSES["profiling"], 2)
    hub.profiles([profile(40, eu, "Germany"), profile(41, us, "United States")])
    hub.sync("consent")
    stream = hub.sync("copy")["streams"]["profiles"]
    rows = hub.rows(pg, "governed_profiles")
    assert [r["source_id"] for r in rows] == ["p00041"], "an EU person's data reached a US destination"
    assert stream["governance"]["rules"]["drop:region.eu"] == 1
    assert [d.rule for d in decisions_for(hub.ctx.engine, "p00040")] == ["region.eu"]
    (row,) = rows
    assert row["email"] == hashlib.sha256(us.lower().encode()).hexdigest()
    assert str(row["phone"]).startswith("tok_") and row["first_name"] == "F***" and row["last_name"] is None
    assert us not in str(row) and "4790000041" not in str(row) and "First41" not in str(row)


def test_explain_decision_tells_each_records_pii_rules_from_the_runs_plan(governed: GovernedHub) -> None:
    """A PII change is not stored per record: the run's plan (policy hash, field rules) is stored
    once per stream, and explain-decision finds the record in that run's output."""
    from hub.governance.decisions import plans_for
    from hub.sandbox.onetrust import PURPOSES

    ok = _consented(governed, PURPOSES["profiling"], 1)
    governed.profiles(
        [
            profile(30, ok[0], "United States"),  # consent allows: written, PII changed
            profile(31, "nobody.asked@example.org", "Germany"),  # opt-in, no consent: dropped
            profile(32, "", "United States", phone=None),  # no email, no phone: nothing to hash
        ]
    )
    governed.sync("consent")
    first = governed.sync("copy")
    run = first["run_id"]
    [plan] = [p for p in plans_for(governed.ctx.engine, run) if p.connection == "copy"]
    assert json.loads(plan.pii_rules) == [
        ["email", "hash", "pii.email.hash"],
        ["phone", "tokenise", "pii.phone.tokenise"],
        ["first_name", "mask", "pii.first_name.mask"],
        ["last_name", "drop", "pii.last_name.drop"],
    ]
    assert plan.policy_hash == governed.ctx.workspace().governance.fingerprint()

    code, out = _cli(governed, "explain-decision", "p00030", "--run", run, "--json")
    assert code == 0, out
    [entry] = json.loads(out)
    assert entry["kind"] == "pii" and entry["record_key"] == "crossdock:p00030", entry
    assert entry["outcome"] == "written to governed_profiles in this run"
    done = {f["field"]: (f["rule"], f["done"]) for f in entry["fields"]}
    assert done["email"] == ("pii.email.hash", "hashed (normalised SHA-256)")
    assert done["phone"] == ("pii.phone.tokenise", "tokenised (HMAC)")
    assert done["first_name"] == ("pii.first_name.mask", "masked")
    assert done["last_name"] == ("pii.last_name.drop", "dropped (sent empty)")
    assert ok[0] not in out  # rules and field names, never values
    code, out = _cli(governed, "explain-decision", "crossdock:p00030", "--run", run)
    assert code == 0 and "pii.email.hash" in out and "hashed" in out, out

    code, out = _cli(governed, "explain-decision", "crossdock:p00032", "--run", run, "--json")
    done = {f["field"]: f["done"] for f in json.loads(out)[0]["fields"]}
    assert done["email"] == done["phone"] == "empty: nothing to change", done

    # the dropped record: its drop, and no PII rule (it was never written)
    code, out = _cli(governed, "explain-decision", "p00031", "--run", run, "--json")
    found = json.loads(out)
    assert [(d["kind"], d["rule"], d["action"]) for d in found] == [("held", "consent.analytics", "drop")]

    # the policy changes: the next run's plan has the new rule, the first run's keeps its own
    governed.write_workspace(governance=GOVERNANCE.replace("last_name: drop", "last_name: mask"))
    second = governed.sync("copy")["run_id"]
    code, out = _cli(governed, "explain-decision", "p00030", "--json")  # every run: the newest
    [entry] = json.loads(out)
    assert entry["run_id"] == second, "the first run's plan was shown though the table has the second's row"
    assert {f["field"]: f["rule"] for f in entry["fields"]}["last_name"] == "pii.last_name.mask"
    code, out = _cli(governed, "explain-decision", "p00030", "--run", run, "--json")
    [entry] = json.loads(out)
    assert {f["field"]: f["rule"] for f in entry["fields"]}["last_name"] == "pii.last_name.drop"
    assert f"as run {second} wrote it" in entry["outcome"]
