"""connectors/facebook offline: Graph-shaped pages and errors at the transport (bodies shaped
like the Graph API reference's examples)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests_mock

from hub.errors import FatalError
from hub.sources import DeclarativeSource
from tests.connectors.offline import query, read_stream

ROOT = Path(__file__).resolve().parents[3]
GRAPH = "https://graph.facebook.com/v19.0"
PAGE = "104000000000001"
CONFIG = {
    "page_id": PAGE,
    "access_token": "EAAB-secret",
    "start_date": "2024-01-01T00:00:00Z",
    "backoff_factor": 0.01,
}


def source() -> DeclarativeSource:
    return DeclarativeSource(
        ROOT / "connectors" / "facebook" / "manifest.yaml", CONFIG, in_child=False
    )  # the HTTP mocks live in this process


def read(stream: str) -> tuple[list[dict], list[dict]]:  # type: ignore[type-arg]
    return read_stream(source(), stream, None)


def posts(ids: list[int], after: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "data": [
            {"id": f"{PAGE}_{i}", "message": f"post {i}", "created_time": f"2024-03-0{i}T10:00:00+0000"}
            for i in ids
        ]
    }
    if ids:
        body["paging"] = {"cursors": {"before": "QVFIUmJ", "after": after or "QVFIUnd"}}
        if after:
            body["paging"]["next"] = f"{GRAPH}/{PAGE}/posts?limit=100&after={after}"
    return {"text": json.dumps(body)}


def test_posts_page_by_cursor_with_the_token_as_a_parameter() -> None:
    with requests_mock.Mocker() as http:
        http.get(f"{GRAPH}/{PAGE}/posts", [posts([3, 2], "QVFIUkx"), posts([1], None)])
        records, states = read("page_posts")
    assert [r["id"] for r in records] == [f"{PAGE}_3", f"{PAGE}_2", f"{PAGE}_1"]
    first, second = (query(r) for r in http.request_history)
    assert first["access_token"] == "EAAB-secret" and first["since"] == "1704067200"
    assert "after" not in first and second["after"] == "QVFIUkx"
    assert states[-1]["stream"]["stream_state"] == {"created_time": "1709460000"}


def test_comment_ids_stay_strings_and_carry_their_post() -> None:
    with requests_mock.Mocker() as http:
        http.get(f"{GRAPH}/{PAGE}/posts", **posts([1], None))
        http.get(
            f"{GRAPH}/{PAGE}_1/comments",
            text=json.dumps(
                {
                    "data": [
                        {
                            "id": "1_200",
                            "message": "Nice",
                            "created_time": "2024-03-01T11:00:00+0000",
                            "from": {"name": "Ann Smith", "id": "5000001"},
                            "like_count": 2,
                        }
                    ]
                }
            ),
        )
        records, _ = read("post_comments")
    assert records[0]["post_id"] == f"{PAGE}_1"  # not the number 1040000000000011
    assert records[0]["id"] == "1_200"


@pytest.mark.parametrize("code", [4, 17, 32, 613])
def test_rate_limits_reported_in_the_body_are_retried(code: int) -> None:
    throttled = {
        "status_code": 400,
        "text": json.dumps(
            {
                "error": {
                    "message": "(#17) User request limit reached",
                    "type": "OAuthException",
                    "code": code,
                    "fbtrace_id": "AbCdEf",
                }
            }
        ),
    }
    with requests_mock.Mocker() as http:
        http.get(f"{GRAPH}/{PAGE}/posts", [throttled, posts([1], None)])
        records, _ = read("page_posts")
    assert len(records) == 1


def test_a_refused_token_fails_check_naming_it() -> None:
    with requests_mock.Mocker() as http:
        http.get(
            f"{GRAPH}/{PAGE}/posts",
            status_code=400,
            text=json.dumps(
                {
                    "error": {
                        "message": "Error validating access token: Session has expired",
                        "type": "OAuthException",
                        "code": 190,
                        "error_subcode": 463,
                        "fbtrace_id": "x",
                    }
                }
            ),
        )
        result = source().check()
    assert not result.ok and "access_token" in result.message


def test_an_unknown_object_fails_the_read_with_graphs_words() -> None:
    with requests_mock.Mocker() as http:
        http.get(
            f"{GRAPH}/{PAGE}/posts",
            status_code=404,
            text=json.dumps(
                {
                    "error": {
                        "message": "Unsupported get request.",
                        "type": "GraphMethodException",
                        "code": 100,
                    }
                }
            ),
        )
        with pytest.raises(FatalError, match="Unsupported get request"):
            read("page_posts")


@pytest.mark.parametrize(
    "bad",
    [
        {
            "status_code": 500,
            "text": json.dumps(
                {"error": {"message": "An unknown error occurred", "type": "OAuthException", "code": 1}}
            ),
        },
        {"status_code": 200, "text": "<html><h1>502 Bad Gateway</h1></html>"},
        {"status_code": 200, "text": '{"data": [{"id": "1", "mes'},
    ],
)
def test_transient_responses_are_retried_and_nothing_is_lost(bad: dict[str, Any]) -> None:
    with requests_mock.Mocker() as http:
        http.get(f"{GRAPH}/{PAGE}/posts", [bad, posts([1, 2], None)])
        records, _ = read("page_posts")
    assert len(records) == 2


def test_insights_come_in_windows_one_record_per_metric_and_day_keyed_by_the_day() -> None:
    days = [datetime(2024, 2, 1, 8, tzinfo=UTC) + timedelta(days=d) for d in range(200)]

    def insights(request: Any, context: Any) -> str:
        q = query(request)
        since, until = int(q["since"]), int(q["until"])
        assert until - since <= 93 * 86400
        values = [
            {"value": {"US": 3} if d.day == 1 else 7, "end_time": d.strftime("%Y-%m-%dT%H:%M:%S+0000")}
            for d in days
            if since <= d.timestamp() <= until
        ]
        metric = {"name": "page_impressions", "period": "day", "title": "Daily Total Impressions"}
        metric |= {"id": f"{PAGE}/insights/page_impressions/day", "values": values}
        return json.dumps({"data": [metric]})

    with requests_mock.Mocker() as http:
        http.get(f"{GRAPH}/{PAGE}/insights", text=insights)
        records, states = read("page_insights")
    assert len(http.request_history) > 1  # windows, and no window shows in a key
    assert sorted(r["metric_key"] for r in records) == [  # windows are read concurrently
        f"{PAGE}/insights/page_impressions/day@{d.strftime('%Y-%m-%dT%H:%M:%S+0000')}" for d in days
    ]
    (first,) = (r for r in records if r["end_time"] == "2024-02-01T08:00:00+0000")
    assert (first["name"], first["period"], first["title"], first["value"]) == (
        "page_impressions",
        "day",
        "Daily Total Impressions",
        {"US": 3},
    )
    assert states[-1]["stream"]["stream_state"] == {"end_time": str(int(days[-1].timestamp()))}
