"""Facebook Pages: a post published during a read arrives by the next run, none is skipped.

Not affected, and this shows it: page_posts is incremental on `created_time`, which a post
never changes, and Graph lists posts newest first, so a post published during the read
lands on the first page, behind the read: later pages repeat a post (merged on `id`),
never skip one, and the state saved (the newest `created_time` seen, on the first page)
is older than the new post, which the next run reads. (An edit changes `updated_time`
only, which Graph cannot filter on: page_posts does not see edits, see the README.)
post_comments is full refresh; page_insights is daily metrics, keyed by the day.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hub.sandbox import Sandbox
from hub.sandbox.facebook_pages import PAGE_ID
from tests.connectors.midsync import latest, read


def test_posts_published_during_the_read_arrive_by_the_next_run_and_none_is_skipped() -> None:
    with Sandbox(seed=8, scale=500) as sb:
        fb = sb.facebook_pages
        config = {
            "base_url": sb.url,
            "page_id": PAGE_ID,
            "access_token": sb.token,
            "start_date": "2020-01-01T00:00:00Z",
            "page_size": 5,
            "backoff_factor": 0.01,
        }
        now = datetime.now(UTC) + timedelta(minutes=1)
        published: list[str] = []
        sb.hooks.after(
            f"/v19.0/{PAGE_ID}/posts", 1, lambda _: published.append(fb.publish("Behind", at=now)["id"])
        )
        sb.hooks.after(
            f"/v19.0/{PAGE_ID}/posts",
            2,
            lambda _: published.append(fb.publish("Later", at=now + timedelta(seconds=5))["id"]),
        )
        first, state = read("facebook", "page_posts", config)
        assert sb.hooks.pending() == 0 and len(published) == 2, "the change did not happen mid-read"
        second, _ = read("facebook", "page_posts", config, state)

        got = latest([first, second], key=lambda r: r["id"])
        assert set(published) <= set(got)
        assert {pid: r["created_time"] for pid, r in got.items()} == {
            p["id"]: p["created_time"] for p in fb.posts
        }
