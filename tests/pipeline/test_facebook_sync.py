"""Facebook Pages end to end: sandbox -> connector -> mappings -> SQL via the Prefect flow,
with faults. On SQLite: the destinations are tested on all three backends elsewhere."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from flows.sync import sync_connection
from hub.sandbox.facebook_pages import PAGE_ID

pytestmark = [
    pytest.mark.usefixtures("prefect_server"),
    pytest.mark.parametrize("hub", ["sqlite"], indirect=True),
]
GRAPH = "/v19.0"


def sync(hub) -> dict:  # type: ignore[no-untyped-def]
    return sync_connection("social", workspace_dir=str(hub.ctx.workspace_dir)).to_dict()


def test_faults_clear_and_nothing_is_lost_or_doubled(hub) -> None:  # type: ignore[no-untyped-def]
    faults, pages = hub.sandbox.faults, hub.sandbox.facebook_pages
    with (
        faults.planted(path_prefix=f"{GRAPH}/{PAGE_ID}/posts", kind="500", times=2),
        faults.planted(path_prefix=f"{GRAPH}/{PAGE_ID}_", kind="truncated", times=2),  # comments
        faults.planted(path_prefix=f"{GRAPH}/{PAGE_ID}/insights", kind="429", times=2, retry_after=0.1),
    ):
        run = sync(hub)
    assert run["status"] == "succeeded", run
    assert all(s["dead_lettered"] == 0 for s in run["streams"].values()), run

    posts = hub.rows("social_page_posts")
    assert sorted(r["source_id"] for r in posts) == sorted(p["id"] for p in pages.posts)
    comments = hub.rows("social_post_comments")
    truth = [c for thread in pages.comments.values() for c in thread]
    assert Counter(r["source_id"] for r in comments) == Counter(c["id"] for c in truth)
    by_id = {c["id"]: c for c in truth}
    assert all(r["author_name"] == by_id[r["source_id"]]["from"]["name"] for r in comments)
    metrics = hub.rows("social_page_insights")  # one row per metric and day
    start = datetime(2024, 6, 1, tzinfo=UTC)  # the connection's start_date
    assert all(day >= start for series in pages.insights.values() for day in series)
    assert Counter(r["metric"] for r in metrics) == {m: len(v) for m, v in pages.insights.items()}

    again = sync(hub)  # incremental: nothing new, nothing doubled
    assert again["status"] == "succeeded"
    assert len(hub.rows("social_page_posts")) == len(posts)
    assert len(hub.rows("social_post_comments")) == len(comments)
    assert len(hub.rows("social_page_insights")) == len(metrics)


def test_a_refused_token_fails_every_stream_naming_it(hub) -> None:  # type: ignore[no-untyped-def]
    hub.sandbox.facebook_pages.token = "rotated"
    run = sync(hub)
    assert run["status"] == "failed"
    assert "access_token" in run["streams"]["page_posts"]["error"]
