"""Mailchimp: a member or an email activity changed during a read arrives by the next run.

- list_members pages by offset over a list sorted by `last_changed`. Oldest first, a member
  changed during the read jumps to the end and every member after it shifts back one
  place: the member at the next page's offset is skipped, below the saved state, for good.
  Newest first (the connector's order) a change jumps to the front, behind the read: later
  pages repeat a member (merged on the key), never skip one, and the saved state (the
  newest `last_changed` seen, on the first page) is older than the change.
- email_activity is per recipient, not ordered by the action's time: saving the newest
  `timestamp` seen would bury an open recorded behind the read under one recorded ahead of
  it. The connector saves the time the read started, less a lookback.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from hub.sandbox import Sandbox
from tests.connectors.midsync import latest, read


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox(seed=9, scale=200) as sandbox:
        yield sandbox


def config(sb: Sandbox) -> dict[str, Any]:
    return {
        "base_url": f"{sb.url}/3.0",
        "credentials": {"auth_type": "apikey", "apikey": sb.token},
        "start_date": "2020-01-01T00:00:00Z",
        "page_size": 10,
        "backoff_factor": 0.01,
    }


def test_a_member_changed_behind_the_read_arrives_and_none_is_skipped(sb: Sandbox) -> None:
    mc = sb.mailchimp
    list_id = mc.lists[0]["id"]
    changed: dict[str, str] = {}

    def change(response) -> None:  # type: ignore[no-untyped-def]
        served = [m["id"] for m in orjson.loads(response.body)["members"]]
        now = datetime.now(UTC) + timedelta(minutes=1)
        ahead = next(m for m in sorted(mc.members[list_id]) if m not in served)  # not yet read
        mc.update_member(list_id, served[0], {"merge_fields": {"FNAME": "Behind"}}, at=now)
        mc.update_member(list_id, ahead, {"merge_fields": {"FNAME": "Ahead"}}, at=now + timedelta(seconds=5))
        changed.update({f"{list_id}-{served[0]}": "Behind", f"{list_id}-{ahead}": "Ahead"})

    sb.hooks.after(f"/3.0/lists/{list_id}/members", 1, change)
    first, state = read("mailchimp", "list_members", config(sb))
    assert sb.hooks.pending() == 0 and len(changed) == 2, "the change did not happen mid-read"
    second, _ = read("mailchimp", "list_members", config(sb), state)

    got = latest([first, second], key=lambda r: r["member_key"])
    assert {k: got[k]["merge_fields"]["FNAME"] for k in changed} == changed
    source = {
        f"{lid}-{mid}": m["last_changed"] for lid, members in mc.members.items() for mid, m in members.items()
    }
    missing = sorted(source.keys() - got.keys())
    assert not missing, f"never read: {missing[:5]}"
    assert {k: r["last_changed"] for k, r in got.items()} == source


def test_an_activity_recorded_behind_the_read_arrives_by_the_next_run(sb: Sandbox) -> None:
    mc = sb.mailchimp
    campaign = mc.campaigns[0]["id"]
    added: list[str] = []

    def record(response) -> None:  # type: ignore[no-untyped-def]
        served = [e["email_id"] for e in orjson.loads(response.body)["emails"]]
        now = datetime.now(UTC) + timedelta(minutes=1)
        behind = mc.add_activity(campaign, served[0], "click", at=now)
        ahead_email = mc.activity[campaign][-1]["email_id"]  # the last page's
        ahead = mc.add_activity(campaign, ahead_email, "open", at=now + timedelta(seconds=5))
        added.extend(
            [
                f"{campaign}-{served[0]}-click-{behind['timestamp']}",
                f"{campaign}-{ahead_email}-open-{ahead['timestamp']}",
            ]
        )

    sb.hooks.after(f"/3.0/reports/{campaign}/email-activity", 1, record)
    first, state = read("mailchimp", "email_activity", config(sb))
    assert sb.hooks.pending() == 0 and len(added) == 2, "the change did not happen mid-read"
    second, _ = read("mailchimp", "email_activity", config(sb), state)

    got = latest([first, second], key=lambda r: r["event_key"])
    assert [k for k in added if k not in got] == []
    source = {
        f"{cid}-{e['email_id']}-{a['action']}-{a['timestamp']}"
        for cid, emails in mc.activity.items()
        for e in emails
        for a in e["activity"]
    }
    assert set(got) == source
