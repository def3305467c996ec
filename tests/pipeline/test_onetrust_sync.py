"""OneTrust end to end: sandbox -> connector -> mappings -> SQL via the Prefect flow, with
faults, then a consent change read incrementally, then stitched with the CRM. On SQLite:
the destinations are tested on all three backends elsewhere; here the connector is under
test."""

from __future__ import annotations

from collections import Counter

import pytest

from flows.stitch import stitch_profiles
from flows.sync import sync_connection
from hub.sandbox.onetrust import PROFILES, PURPOSES
from tests.pipeline.truth import pairwise_scores

pytestmark = [
    pytest.mark.usefixtures("prefect_server"),
    pytest.mark.parametrize("hub", ["sqlite"], indirect=True),
]

EVENTS = {"ACTIVE": "granted", "WITHDRAWN": "withdrawn", "EXPIRED": "expired", "PENDING": "pending"}


def sync(hub, name: str = "consent") -> dict:  # type: ignore[no-untyped-def]
    return sync_connection(name, workspace_dir=str(hub.ctx.workspace_dir)).to_dict()


def assert_equal_to_sandbox(hub) -> None:  # type: ignore[no-untyped-def]
    profiles = hub.sandbox.onetrust.profiles.values()
    subjects = hub.rows("consent_data_subjects")
    assert Counter(r["source_id"] for r in subjects) == Counter(s["Id"] for s in profiles)
    consents = hub.rows("consent_purpose_consents")
    keys = Counter(r["source_id"] for r in consents)
    assert not [k for k, n in keys.items() if n > 1], "duplicate consents"
    truth = {
        f"{s['Id']}:{p['Id']}": (s["Identifier"].lower(), p["Name"].lower(), EVENTS[p["Status"]])
        for s in profiles
        for p in s["Purposes"]
    }
    assert {r["source_id"]: (r["email"], r["purpose"], r["event"]) for r in consents} == truth


def test_faults_clear_and_nothing_is_lost_or_doubled_then_a_change_is_read(hub) -> None:  # type: ignore[no-untyped-def]
    faults = hub.sandbox.faults
    # both streams read one path: five faults in a row, within the connector's 5 retries
    with (
        faults.planted(path_prefix=PROFILES, kind="429", times=2, retry_after=0.1),
        faults.planted(path_prefix=PROFILES, kind="500", times=1),
        faults.planted(path_prefix=PROFILES, kind="truncated", times=1),
        faults.planted(path_prefix=PROFILES, kind="malformed", times=1),
    ):
        first = sync(hub)
    assert first["status"] == "succeeded", first
    assert all(s["dead_lettered"] == 0 for s in first["streams"].values()), first
    assert_equal_to_sandbox(hub)

    ot = hub.sandbox.onetrust
    email = next(
        k
        for k, s in ot.profiles.items()
        if any(p["Id"] == PURPOSES["newsletter"] and p["Status"] == "ACTIVE" for p in s["Purposes"])
    )
    ot.touch(email, PURPOSES["newsletter"], "WITHDRAWN")  # they unsubscribed in OneTrust
    second = sync(hub)
    assert second["status"] == "succeeded", second
    assert second["streams"]["data_subjects"]["read"] < len(ot.profiles) // 4
    assert_equal_to_sandbox(hub)
    row = next(
        r
        for r in hub.rows("consent_purpose_consents")
        if r["email"] == email and r["purpose"] == "newsletter"
    )
    assert row["event"] == "withdrawn"


def test_retries_running_out_fail_the_stream_with_the_reason(hub) -> None:  # type: ignore[no-untyped-def]
    with hub.sandbox.faults.planted(path_prefix=PROFILES, kind="503", times=None):
        run = sync(hub)
    assert run["status"] == "failed", run
    stream = run["streams"]["data_subjects"]
    assert stream["status"] == "failed" and "OneTrust server error" in stream["error"], stream


def test_data_subjects_join_the_crm_people_and_consents_land_on_timelines(hub) -> None:  # type: ignore[no-untyped-def]
    assert sync(hub, "crm")["status"] == "succeeded"
    assert sync(hub)["status"] == "succeeded"
    summary = stitch_profiles(workspace_dir=str(hub.ctx.workspace_dir)).to_dict()
    assert summary["events_unattached"] == 0, summary  # each names its data subject
    precision, recall = pairwise_scores(hub)  # against the sandbox's truth
    assert precision >= 0.99 and recall >= 0.8, (precision, recall)
    consents = {
        e["record_key"]
        for e in hub.rows("profile_timeline")
        if e["record_key"].startswith("onetrust:consent:")
    }
    assert len(consents) == sum(len(s["Purposes"]) for s in hub.sandbox.onetrust.profiles.values())
