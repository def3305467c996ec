"""Consent and purpose on the real pipeline: OneTrust sandbox -> SQLite -> Mailchimp sandbox.

An EU (opt-in) person reaches the email tool only with a granted newsletter consent; a US
(opt-out) person unless they withdrew; a withdrawal made in OneTrust reaches Mailchimp on
the next write-back run as an unsubscribe; every held-back record is in the decisions table."""

from __future__ import annotations

import hashlib
from typing import Any

from hub.governance.decisions import decisions_for
from hub.sandbox.onetrust import PURPOSES
from tests.governance.conftest import ADS, CRM, GovernedHub, profile

NEWSLETTER = PURPOSES["newsletter"]


def sha(value: str) -> str:
    return hashlib.sha256(value.strip().lower().encode()).hexdigest()


def _by_status(governed: GovernedHub) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {"ACTIVE": [], "WITHDRAWN": [], "none": []}
    for email, purposes in sorted(governed.sandbox.onetrust.subjects.items()):
        if "@" not in email or email.startswith("info@"):
            continue
        status = purposes.get(NEWSLETTER, "none")
        if status in found:
            found[status].append(email)
    return found


def test_consent_decides_who_reaches_the_email_tool_and_a_withdrawal_unsubscribes(
    governed: GovernedHub,
) -> None:
    people = _by_status(governed)
    granted, withdrawn, unknown = people["ACTIVE"][:4], people["WITHDRAWN"][:2], people["none"][:2]
    assert len(granted) == 4 and len(withdrawn) == 2 and len(unknown) == 2, people
    rows = [profile(i, e, "Norway") for i, e in enumerate(granted + withdrawn + unknown)]
    us_unknown, us_withdrawn = people["none"][2], people["WITHDRAWN"][2]
    rows += [profile(50, us_unknown, "United States"), profile(51, us_withdrawn, "United States")]
    governed.profiles(rows)

    assert governed.sync("consent")["status"] == "succeeded"
    result = governed.sync("out")
    stream = result["streams"]["profiles"]
    assert result["status"] == "succeeded", result
    members, sent = governed.members(), governed.sent()
    for email in granted + [us_unknown]:
        assert email in sent, f"{email} has consent (or needs none in the US) but was not sent"
    for email in withdrawn + unknown + [us_withdrawn]:
        assert email not in sent, f"{email} lacks newsletter consent but reached Mailchimp"
    gov = stream["governance"]
    assert gov["withdrawn"] == 5 and gov["rules"] == {"withdraw:consent.email_marketing": 5}, gov
    assert stream["writeback"]["withheld"] == 5  # never sent before: nothing to unsubscribe

    # each held-back record is in the decisions table, with the rule and the run
    held = decisions_for(governed.ctx.engine, "crossdock:p00004")
    assert [(d.rule, d.action, d.run_id) for d in held] == [
        ("consent.email_marketing", "withdraw", result["run_id"])
    ]
    assert "withdrawn" in held[0].reason and withdrawn[0] not in held[0].reason

    # a withdrawal made in OneTrust reaches Mailchimp as an unsubscribe on the next run
    leaver = next(e for e in granted if members[e]["status"] != "unsubscribed")
    governed.sandbox.onetrust.touch(leaver, NEWSLETTER, "WITHDRAWN")
    governed.sync("consent")
    again = governed.sync("out")["streams"]["profiles"]
    assert governed.members()[leaver]["status"] == "unsubscribed"
    assert again["writeback"]["withdrawn"] == 1 and again["writeback"]["update"] == 1
    assert again["writeback"]["unchanged"] == 4  # the other consented members cost no call
    third = governed.sync("out")["streams"]["profiles"]["writeback"]
    assert third["unchanged"] == 5 and third["update"] == 0  # the unsubscribe is sent once

    # the audit log has the counts per rule and the policy's first hash, never a value
    entries: list[dict[str, Any]] = governed.ctx.audit.entries()
    ends = [e for e in entries if e["action"] == "stream.end" and e["target"] == "out/profiles"]
    assert ends[0]["details"]["governance"]["rules"] == {"withdraw:consent.email_marketing": 5}
    assert [e["details"]["old_hash"] for e in entries if e["action"] == "policy.change"] == [None]
    assert not [e for e in entries for email in granted + withdrawn + unknown if email in str(e)]


def test_a_withdrawal_removes_the_person_from_the_ad_audience(governed: GovernedHub) -> None:
    profiling = PURPOSES["profiling"]
    emails = [
        e
        for e, p in sorted(governed.sandbox.onetrust.subjects.items())
        if p.get(profiling) == "ACTIVE" and "@" in e and not e.startswith("info@")
    ][2:4]
    governed.write_workspace(extra=ADS)
    governed.profiles([profile(80 + i, e, "Germany") for i, e in enumerate(emails)])
    governed.sync("consent")
    audience = governed.sandbox.facebook.audiences["23850000000000001"]
    first = governed.sync("ads")["streams"]["profiles"]
    assert {sha(e) for e in emails} <= set(audience), first

    governed.sandbox.onetrust.touch(emails[0], profiling, "WITHDRAWN")
    governed.sync("consent")
    stream = governed.sync("ads")["streams"]["profiles"]
    assert sha(emails[0]) not in audience and sha(emails[1]) in audience
    assert stream["writeback"]["withdrawn"] == 1 and stream["writeback"]["delete"] == 1
    again = governed.sync("ads")["streams"]["profiles"]["writeback"]
    assert again["withheld"] == 1 and again["delete"] == 0  # removed once; not sent back


def test_a_withdrawal_flags_the_crm_contact(governed: GovernedHub) -> None:
    emails = _by_status(governed)["ACTIVE"][6:8]
    governed.write_workspace(extra=CRM)
    governed.profiles([profile(90 + i, e, "Germany") for i, e in enumerate(emails)])
    governed.sync("consent")
    governed.sync("crm")

    def flag(email: str) -> object:
        found = [
            o
            for o in governed.sandbox.hubspot.objects("contacts").values()
            if str(o["properties"].get("email") or "").lower() == email
        ]
        assert found, f"{email} never reached the CRM"
        return found[0]["properties"].get("crossdock_consent")

    assert flag(emails[0]) is None
    governed.sandbox.onetrust.touch(emails[0], NEWSLETTER, "WITHDRAWN")
    governed.sync("consent")
    stream = governed.sync("crm")["streams"]["profiles"]
    assert flag(emails[0]) == "withdrawn" and flag(emails[1]) is None
    assert stream["writeback"]["withdrawn"] == 1
