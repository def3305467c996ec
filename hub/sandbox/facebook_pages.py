"""Facebook Graph API (Pages), emulated: a page's posts, their comments, page insights.

- GET /v19.0/{page_id}/posts      fields, limit <= 100, since/until (unix or ISO, on
                                  created_time), newest first; cursor paging
- GET /v19.0/{post_id}/comments   fields, limit <= 100, order=chronological; cursor paging
- GET /v19.0/{page_id}/insights   metric=a,b, period=day, since/until (at most 93 days)
Paging is Graph's: `paging.cursors.after` and a `paging.next` URL while more
remain. Auth is the `access_token` query parameter (a page token); a bad one is
HTTP 400, OAuthException code 190, as Graph answers.

The commenters are the CRM sandbox's people by name (Graph gives a page no
emails), with app-scoped ids, and some strangers.
"""

from __future__ import annotations

import base64
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from hub.sandbox.facebook import API_VERSION, _error
from hub.sandbox.people import EPOCH, generate
from hub.sandbox.server import Request, Response, Router, json_response

__all__ = ["FacebookPages", "PAGE_ID", "METRICS"]

PAGE_ID = "104000000000001"
METRICS = ("page_impressions", "page_post_engagements", "page_fans")
_LIMIT_MAX = 100
_INSIGHT_DAYS = 120


def fb_time(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def _instant(value: str) -> datetime:
    if value.lstrip("-").isdigit():
        return datetime.fromtimestamp(int(value), UTC)
    return datetime.fromisoformat(value.replace("Z", "+00:00").replace("+0000", "+00:00"))


class FacebookPages:
    def __init__(self, seed: int, scale: int, token: str) -> None:
        self.token = token
        rng = random.Random(seed + 404)
        people, _ = generate(seed, scale)
        self.posts: list[dict[str, Any]] = []
        self.comments: dict[str, list[dict[str, Any]]] = {}
        for i in range(max(5, scale // 25)):
            created = EPOCH - timedelta(days=rng.randint(1, 360), minutes=rng.randint(0, 1440))
            pid = f"{PAGE_ID}_{100000 + i}"
            self.posts.append(
                {
                    "id": pid,
                    "message": f"New arrivals, week {i}",
                    "created_time": fb_time(created),
                    "updated_time": fb_time(created + timedelta(hours=rng.randint(0, 48))),
                    "permalink_url": f"https://www.facebook.com/{pid}",
                    "shares": {"count": rng.randint(0, 40)},
                }
            )
            thread = []
            for j in range(rng.choice((0, 1, 2, 3, 5))):
                person = rng.choice(people) if rng.random() < 0.85 else None
                name = f"{person.first} {person.last}" if person else f"Visitor {rng.randint(1, 999)}"
                thread.append(
                    {
                        "id": f"{100000 + i}_{200 + j}",
                        "message": "Love it!",
                        "created_time": fb_time(created + timedelta(hours=j + 1)),
                        "from": {"name": name, "id": str(5000000 + (person.index if person else 900000 + j))},
                        "like_count": rng.randint(0, 9),
                    }
                )
            self.comments[pid] = thread
        self.posts.sort(key=lambda p: p["created_time"], reverse=True)  # Graph: newest first
        self.insights = {
            m: {EPOCH - timedelta(days=d): rng.randint(10, 5000) for d in range(_INSIGHT_DAYS)}
            for m in METRICS
        }

    def publish(self, message: str, at: datetime | None = None) -> dict[str, Any]:
        """A new post on the page (Graph lists it first: newest first)."""
        created = fb_time(at or datetime.now(UTC))
        pid = f"{PAGE_ID}_{100000 + len(self.posts)}"
        post = {
            "id": pid,
            "message": message,
            "created_time": created,
            "updated_time": created,
            "permalink_url": f"https://www.facebook.com/{pid}",
            "shares": {"count": 0},
        }
        self.posts.append(post)
        self.comments[pid] = []
        self.posts.sort(key=lambda p: p["created_time"], reverse=True)
        return post

    def register(self, router: Router) -> None:
        router.add("GET", f"/{API_VERSION}/{{page_id}}/posts", self._guard(self._posts))
        router.add("GET", f"/{API_VERSION}/{{post_id}}/comments", self._guard(self._comments))
        router.add("GET", f"/{API_VERSION}/{{page_id}}/insights", self._guard(self._insights))

    def _guard(self, handler: Any) -> Any:
        def guarded(req: Request) -> Response:
            if req.arg("access_token") != self.token:
                return json_response(
                    _error("Invalid OAuth access token - Cannot parse access token", 190), 400
                )
            return handler(req)

        return guarded

    def _page(self, req: Request, items: list[dict[str, Any]], path: str) -> Response:
        try:
            limit = int(req.arg("limit") or 25)
            start = int(base64.b64decode(req.arg("after") or "MA==").decode())
        except ValueError:
            return json_response(_error("(#100) Invalid limit or cursor", 100, "GraphMethodException"), 400)
        if not 1 <= limit <= _LIMIT_MAX:
            return json_response(
                _error(f"(#100) The limit must be between 1 and {_LIMIT_MAX}", 100, "GraphMethodException"),
                400,
            )
        fields = req.arg("fields")
        page = items[start : start + limit]
        if fields:
            keep = {f.split("{")[0] for f in fields.split(",")} | {"id"}
            page = [{k: v for k, v in item.items() if k in keep} for item in page]
        body: dict[str, Any] = {"data": page}
        if page:
            after = base64.b64encode(str(start + len(page)).encode()).decode()
            body["paging"] = {
                "cursors": {"before": base64.b64encode(str(start).encode()).decode(), "after": after}
            }
            if start + limit < len(items):
                body["paging"]["next"] = (
                    f"https://graph.facebook.com/{API_VERSION}/{path}?limit={limit}&after={after}"
                )
        return json_response(body)

    def _posts(self, req: Request) -> Response:
        if req.params["page_id"] != PAGE_ID:
            return json_response(
                _error(
                    f"(#100) Object with ID '{req.params['page_id']}' does not exist",
                    100,
                    "GraphMethodException",
                ),
                400,
            )
        try:
            since_arg, until_arg = req.arg("since"), req.arg("until")
            since = _instant(since_arg) if since_arg else None
            until = _instant(until_arg) if until_arg else None
        except ValueError:
            return json_response(
                _error("(#100) since/until must be a time", 100, "GraphMethodException"), 400
            )
        chosen = [
            p
            for p in self.posts
            if (since is None or _instant(p["created_time"]) >= since)
            and (until is None or _instant(p["created_time"]) <= until)
        ]
        return self._page(req, chosen, f"{PAGE_ID}/posts")

    def _comments(self, req: Request) -> Response:
        thread = self.comments.get(req.params["post_id"])
        if thread is None:
            return json_response(
                _error(
                    f"(#100) Object with ID '{req.params['post_id']}' does not exist",
                    100,
                    "GraphMethodException",
                ),
                400,
            )
        return self._page(req, thread, f"{req.params['post_id']}/comments")

    def _insights(self, req: Request) -> Response:
        metrics = [m for m in (req.arg("metric") or "").split(",") if m]
        unknown = [m for m in metrics if m not in METRICS]
        if not metrics or unknown:
            return json_response(
                _error(
                    f"(#100) The value must be a valid insights metric: {','.join(unknown) or '(none)'}", 100
                ),
                400,
            )
        if (req.arg("period") or "day") != "day":
            return json_response(_error("(#100) period must be day", 100), 400)
        try:
            since = _instant(req.arg("since") or str(int((EPOCH - timedelta(days=2)).timestamp())))
            until = _instant(req.arg("until") or str(int(EPOCH.timestamp())))
        except ValueError:
            return json_response(_error("(#100) since/until must be a time", 100), 400)
        if until - since > timedelta(days=93):
            return json_response(
                _error("(#100) There cannot be more than 93 days (8035200 s) between since and until", 100),
                400,
            )
        data = [
            {
                "name": m,
                "period": "day",
                "title": m.replace("_", " ").title(),
                "id": f"{PAGE_ID}/insights/{m}/day",
                "values": [
                    {"value": v, "end_time": fb_time(day)}
                    for day, v in sorted(self.insights[m].items())
                    if since <= day <= until
                ],
            }
            for m in metrics
        ]
        return json_response({"data": data})
