"""Write-back to Mailchimp through the sandbox: batch subscribe, tags, archive on delete."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hub.sandbox import Sandbox
from hub.sandbox.mailchimp import subscriber_hash
from hub.writeback.state import list_results
from tests.pipeline.writeback import WritebackHub, profile

pytestmark = pytest.mark.usefixtures("prefect_server")


class MailchimpOut(WritebackHub):
    @property
    def list_id(self) -> str:
        return self.sandbox.mailchimp.lists[0]["id"]

    def members(self) -> dict[str, dict[str, Any]]:
        return self.sandbox.mailchimp.members[self.list_id]

    def batch_calls(self) -> int:
        return sum(n for (path, _), n in self.sandbox.hits.items() if path == f"/3.0/lists/{self.list_id}")


@pytest.fixture
def mc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.delenv("CROSSDOCK_STORE_URL", raising=False)
    with Sandbox(seed=7, scale=300, port=0) as sb:
        list_id = sb.mailchimp.lists[0]["id"]
        hub = MailchimpOut(
            tmp_path,
            sb,
            "mailchimp",
            {
                "base_url": f"{sb.url}/3.0",
                "list_id": list_id,
                "tags": ["crossdock"],
                "credentials": {"apikey": "sandbox-token"},
            },
        )
        yield hub


def test_members_are_upserted_tagged_and_unsubscribes_are_kept(mc: MailchimpOut) -> None:
    existing = sorted(mc.members().values(), key=lambda m: m["id"])[:40]
    unsubscribed = [m for m in existing if m["status"] != "subscribed"]
    rows = [profile(i, m["email_address"].upper()) for i, m in enumerate(existing)]
    rows += [profile(100 + i, f"reader{i}@example.org") for i in range(560)]
    mc.profiles(rows)
    before = len(mc.members())

    result = mc.sync()
    counts = result["streams"]["profiles"]["writeback"]
    assert result["status"] == "succeeded", result
    assert (counts["accepted"], counts["rejected"]) == (600, 0)
    assert mc.batch_calls() == 2  # 600 members in Mailchimp's batches of 500
    members = mc.members()
    assert len(members) == before + 560
    new = members[subscriber_hash("reader7@example.org")]
    assert new["status"] == "pending" and new["merge_fields"]["FNAME"] == "First107"
    assert [t["name"] for t in new["tags"]] == ["crossdock"]
    for m in unsubscribed:  # an upsert never resubscribes someone who left
        assert members[m["id"]]["status"] == m["status"]
    assert members[existing[0]["id"]]["merge_fields"]["LNAME"] == "Last0"

    again = mc.sync()["streams"]["profiles"]["writeback"]
    assert (again["unchanged"], again["accepted"]) == (600, 0)
    assert mc.batch_calls() == 2, "unchanged members cost no API call"


def test_an_invalid_address_is_rejected_alone_with_mailchimps_reason(mc: MailchimpOut) -> None:
    rows = [profile(i, f"fan{i}@example.org") for i in range(20)]
    rows[3]["email"] = "fan3@@example"
    mc.profiles(rows)
    result = mc.sync()
    counts = result["streams"]["profiles"]["writeback"]
    assert (counts["accepted"], counts["rejected"]) == (19, 1)
    [rejected] = list_results(mc.ctx.engine, result["run_id"], "rejected")
    assert rejected.record_ref == "crossdock:p00003"
    assert rejected.reason == (
        "ERROR_GENERIC: <match key> looks fake or invalid, please enter a real email address."
    )
    assert subscriber_hash("fan4@example.org") in mc.members()


def test_overwrite_archives_members_whose_profile_left(mc: MailchimpOut) -> None:
    mc.workspace(write_mode="overwrite")
    rows = [profile(i, f"leaver{i}@example.org") for i in range(10)]
    mc.profiles(rows)
    assert mc.sync()["streams"]["profiles"]["writeback"]["accepted"] == 10
    mc.profiles(rows[:7])

    preview = mc.sync(dry_run=True)["streams"]["profiles"]["writeback"]
    assert (preview["delete"], preview["unchanged"]) == (3, 7)
    assert subscriber_hash("leaver8@example.org") in mc.members()

    done = mc.sync()["streams"]["profiles"]["writeback"]
    assert (done["delete"], done["accepted"]) == (3, 3)
    archived = mc.sandbox.mailchimp.archived[mc.list_id]
    assert sorted(archived) == sorted(subscriber_hash(f"leaver{i}@example.org") for i in (7, 8, 9))
    assert all(subscriber_hash(f"leaver{i}@example.org") in mc.members() for i in range(7))


def test_a_lost_response_is_retried_without_duplicates(mc: MailchimpOut) -> None:
    mc.profiles([profile(i, f"again{i}@example.org") for i in range(30)])
    before = len(mc.members())
    with mc.sandbox.faults.planted(
        path_prefix=f"/3.0/lists/{mc.list_id}", kind="lost", times=1, method="POST"
    ):
        result = mc.sync()
    assert result["streams"]["profiles"]["writeback"]["accepted"] == 30
    assert len(mc.members()) == before + 30


def test_a_dead_lettered_row_holds_back_every_delete(mc: MailchimpOut) -> None:
    mc.workspace(write_mode="overwrite")
    rows = [profile(i, f"keeper{i}@example.org") for i in range(5)]
    mc.profiles(rows)
    mc.sync()
    rows[4] = profile(4, "keeper4@example.org", last_updated_at=None, stitched_at=None)
    mc.profiles(rows[:3] + [rows[4]])  # row 3 left; row 4 now fails its mapping (no date)

    result = mc.sync()
    stream = result["streams"]["profiles"]
    assert stream["dead_lettered"] == 1
    assert stream["writeback"]["delete"] == 0
    assert stream["writeback"]["deletes_held"] == "1 row(s) were dead-lettered"
    assert mc.sandbox.mailchimp.archived.get(mc.list_id, {}) == {}
