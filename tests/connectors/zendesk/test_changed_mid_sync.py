"""Zendesk: a record changed during a read (the first sync included) arrives by the next run.

Not affected, and this shows it: the incremental exports are ordered by `updated_at` (the
cursor export by (updated_at, id) behind an opaque cursor, the time-based export by
`start_time` = the last page's `end_time`), so a record changed during the read moves
ahead of the read and is read in it; the newest `updated_at` seen is then a safe state.
Were an export unordered, the record changed behind the read would fall below the state
saved from the one changed ahead of it, and this test would fail.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from hub.sandbox import Sandbox
from tests.connectors.midsync import latest, read

PATHS = {
    "users": "/api/v2/incremental/users/cursor.json",
    "tickets": "/api/v2/incremental/tickets/cursor.json",
    "organizations": "/api/v2/incremental/organizations.json",
}


@pytest.mark.parametrize("kind", list(PATHS))
def test_a_record_changed_behind_the_read_arrives_by_the_next_run(kind: str) -> None:
    with Sandbox(seed=4, scale=400) as sb:
        zd = sb.zendesk
        config = {
            "base_url": sb.url,
            "start_date": "2020-01-01T00:00:00Z",
            "page_size": 10,
            "backoff_factor": 0.01,
            "credentials": {"credentials": "api_token", "email": "agent@example.com", "api_token": sb.token},
        }
        changed: dict[int, str] = {}
        field = "subject" if kind == "tickets" else "name"

        def change(response) -> None:  # type: ignore[no-untyped-def]
            served = {o["id"] for o in orjson.loads(response.body)[kind]}
            now = datetime.now(UTC) + timedelta(minutes=1)
            behind = min(served)  # already read
            ahead = max(oid for oid in zd.objects(kind) if oid not in served)  # not yet read
            zd.update(kind, behind, {field: "Behind"}, updated_at=now)
            zd.update(kind, ahead, {field: "Ahead"}, updated_at=now + timedelta(seconds=5))
            changed.update({behind: "Behind", ahead: "Ahead"})

        sb.hooks.after(PATHS[kind], 1, change)
        first, state = read("zendesk", kind, config)
        assert sb.hooks.pending() == 0 and len(changed) == 2, "the change did not happen mid-read"
        second, _ = read("zendesk", kind, config, state)

        got = latest([first, second], key=lambda r: r["id"])
        assert {oid: got[oid][field] for oid in changed} == changed
        assert {oid: r["updated_at"] for oid, r in got.items()} == {
            oid: o["updated_at"] for oid, o in zd.objects(kind).items()
        }
