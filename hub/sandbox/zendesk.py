"""Zendesk Support API v2, emulated: users, organizations and tickets as the real API serves them.

- GET /api/v2/incremental/users/cursor.json    cursor-based incremental export
- GET /api/v2/incremental/tickets/cursor.json  (start_time=<unix> first, then cursor=<after_cursor>;
                                                 per_page <= 1000; end_of_stream on the last page)
- GET /api/v2/incremental/organizations.json   time-based export (start_time; next_page,
                                                 end_time; items at the boundary repeat)
- GET /api/v2/incremental/ticket_events.json   time-based export of ticket audits (start_time,
                                                 end_time, next_page); comment child events only
                                                 with include=comment_events
- GET /api/v2/satisfaction_ratings.json        start_time (created at or after), cursor paging
                                                 (page[size] <= 100, page[after]; meta.has_more)
- POST /api/v2/users/create_or_update_many.json  <= 100 users matched by email, as a job
- GET /api/v2/job_statuses/{id}.json             `queued` at the first look, then `completed`
Auth: Basic `{email}/token:{api_token}` or an OAuth Bearer token. Every response
carries Zendesk's rate-limit headers; errors have its `{"error", "description"}` shape.

The people are the CRM sandbox's (same seed), seen the way a help desk sees
them: a subset who wrote in, their name in one field, sometimes typed
differently, often another spelling of the address or a different one, phones
in E.164, and some people the CRM never heard of.
"""

from __future__ import annotations

import base64
import copy
import random
import re
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from hub.sandbox.people import EPOCH, FIRST, LAST, MAIL_PROVIDERS, Company, Person, generate
from hub.sandbox.server import Request, Response, Router, credentials, json_response

__all__ = ["Zendesk"]

_PAGE_MAX = 1000
_BATCH_MAX = 100
_AGENT_ID = 360000000000  # the agent who answers every ticket (not an end user)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")
_SUBJECTS = (
    "Where is my order?",
    "Refund request",
    "Cannot log in",
    "Invoice question",
    "Item arrived damaged",
    "Change my address",
    "Cancel subscription",
    "Sizing help",
)
_STATUSES = ("new", "open", "pending", "solved", "closed")
_PRIORITIES = ("low", "normal", "high", "urgent", None)
_CHANNELS = ("email", "web", "chat", "api")


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _unix(value: str) -> int:
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())


def _cursor(updated: int, oid: int) -> str:
    return base64.urlsafe_b64encode(f"{updated}|{oid}".encode()).decode()


def _uncursor(cursor: str) -> tuple[int, int]:
    updated, oid = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
    return int(updated), int(oid)


def _error(status: int, message: str) -> dict[str, Any]:
    name = {
        401: "Couldn't authenticate you",
        403: "Forbidden",
        404: "InvalidEndpoint",
        429: "TooManyRequests",
        400: "InvalidValue",
    }.get(status, "InternalError")
    if status == 401:
        return {"error": name}
    return {"error": name, "description": message}


class Zendesk:
    """The help desk's data (live: tests mutate it) and its HTTP routes."""

    def __init__(self, seed: int, scale: int, token: str) -> None:
        self.token = token
        self._lock = threading.RLock()
        people, companies = generate(seed, scale)
        rng = random.Random(seed + 101)
        self._objects: dict[str, dict[int, dict[str, Any]]] = {
            "users": {},
            "organizations": {},
            "tickets": {},
        }
        self._next = {"users": 360000000001, "organizations": 900000001, "tickets": 1}
        self._jobs: dict[str, dict[str, Any]] = {}
        self.ratings: list[dict[str, Any]] = []
        self.ticket_events: list[dict[str, Any]] = []  # audits, in time order
        self.upserts: list[str] = []  # the address of every user created or updated by the API
        self.deleted_users: dict[int, dict[str, Any]] = {}  # soft-deleted, until purged
        self.purged: list[int] = []  # user ids permanently deleted
        # user id -> index of the CRM person it is (the truth tests score stitching against)
        self.person_of: dict[int, int] = {}
        org_of: dict[int, int] = {}
        for p in people:
            if rng.random() < 0.4:  # wrote in to support
                company = companies[p.company]
                if company.index not in org_of:
                    org_of[company.index] = self._add("organizations", self._organization(company))
                user = self._add("users", self._user(rng, p, org_of[company.index]))
                self.person_of[user] = p.index
                self._tickets_for(rng, user)
        for i in range(max(1, scale // 20)):  # people only the help desk knows
            first, last = rng.choice(FIRST), rng.choice(LAST)
            created = EPOCH - timedelta(days=rng.randrange(1, 700))
            user = self._add(
                "users",
                {
                    "name": f"{first} {last}",
                    "email": f"{first}.{last}{i}@{rng.choice(MAIL_PROVIDERS)}".lower(),
                    "phone": None,
                    "organization_id": None,
                    "created_at": iso(created),
                    "updated_at": iso(created + timedelta(hours=rng.randrange(1, 500))),
                },
            )
            self._tickets_for(rng, user)
        self._rate_tickets(seed)
        self._comment_on_tickets(seed)

    # -- data --------------------------------------------------------------
    @staticmethod
    def _organization(c: Company) -> dict[str, Any]:
        return {
            "name": c.name,
            "domain_names": [c.domain.lower()],
            "details": "",
            "created_at": iso(c.created),
            "updated_at": iso(c.updated),
            "tags": [],
        }

    @staticmethod
    def _user(rng: random.Random, p: Person, org_id: int) -> dict[str, Any]:
        name = f"{p.first} {p.last}"
        if rng.random() < 0.05 and len(p.last) > 3:  # a typo in the help desk
            i = rng.randrange(1, len(p.last) - 2)
            name = f"{p.first} {p.last[:i]}{p.last[i + 1]}{p.last[i]}{p.last[i + 2 :]}"
        email = (p.email or "").strip().lower() or None
        roll = rng.random()
        if email and roll < 0.15:
            email = f"{p.first}.{p.last}{rng.randint(1, 99)}@{rng.choice(MAIL_PROVIDERS)}".lower()
        elif email and roll < 0.25:
            local, _, domain = email.partition("@")
            email = f"{local}+support@{domain}"
        digits = "".join(ch for ch in p.phone if ch.isdigit())[-10:]
        created = p.created + timedelta(days=rng.randrange(0, 30))
        updated = max(created, p.updated) + timedelta(hours=rng.randrange(0, 200))
        return {
            "name": name,
            "email": email,
            "phone": f"+1{digits}" if len(digits) == 10 and rng.random() < 0.6 else None,
            "organization_id": org_id,
            "created_at": iso(min(created, EPOCH)),
            "updated_at": iso(min(updated, EPOCH)),
        }

    def _tickets_for(self, rng: random.Random, user_id: int) -> None:
        user = self._objects["users"][user_id]
        start = datetime.fromisoformat(user["created_at"].replace("Z", "+00:00"))
        for _ in range(rng.choice((0, 1, 1, 2, 3))):
            created = start + timedelta(hours=rng.randrange(1, 2000))
            created = min(created, EPOCH - timedelta(hours=1))
            updated = min(created + timedelta(hours=rng.randrange(0, 300)), EPOCH)
            self._add(
                "tickets",
                {
                    "subject": rng.choice(_SUBJECTS),
                    "description": "See subject.",
                    "status": rng.choice(_STATUSES),
                    "priority": rng.choice(_PRIORITIES),
                    "type": rng.choice(("question", "incident", "problem", "task")),
                    "requester_id": user_id,
                    "submitter_id": user_id,
                    "organization_id": user["organization_id"],
                    "via": {"channel": rng.choice(_CHANNELS)},
                    "tags": [],
                    "created_at": iso(created),
                    "updated_at": iso(updated),
                },
            )

    def _add(self, kind: str, fields: dict[str, Any]) -> int:
        oid = self._next[kind]
        self._next[kind] += 1
        url = f"https://sandbox.zendesk.com/api/v2/{kind}/{oid}.json"
        self._objects[kind][oid] = {"id": oid, "url": url, **fields}
        return oid

    def objects(self, kind: str) -> dict[int, dict[str, Any]]:
        """id -> object as the API returns it (the live store: change it through update/create)."""
        return self._objects[kind]

    def update(
        self, kind: str, oid: int, fields: dict[str, Any], updated_at: datetime | None = None
    ) -> dict[str, Any]:
        with self._lock:
            obj = self._objects[kind][oid]
            obj.update(fields, updated_at=iso(updated_at or datetime.now(UTC)))
            return obj

    def create(self, kind: str, fields: dict[str, Any], updated_at: datetime | None = None) -> dict[str, Any]:
        with self._lock:
            stamp = iso(updated_at or datetime.now(UTC))
            oid = self._add(kind, {"created_at": stamp, **fields, "updated_at": stamp})
            return self._objects[kind][oid]

    def _save(self) -> Any:
        """The users, for a `dropped` write (jobs are kept: the job still reports success)."""
        with self._lock:
            return copy.deepcopy(self._objects["users"]), self._next["users"]

    def _restore(self, saved: Any) -> None:
        users, next_id = saved
        with self._lock:  # in place: a test may hold `objects("users")` from before
            self._objects["users"].clear()
            self._objects["users"].update(users)
            self._next["users"] = next_id

    # -- HTTP --------------------------------------------------------------
    def register(self, router: Router) -> None:
        router.product("/api/v2/", _error, self._rate_headers, keep=(self._save, self._restore))
        router.add("GET", "/api/v2/incremental/users/cursor.json", self._guard(self._cursor_export("users")))
        router.add(
            "GET", "/api/v2/incremental/tickets/cursor.json", self._guard(self._cursor_export("tickets"))
        )
        router.add("GET", "/api/v2/incremental/organizations.json", self._guard(self._time_export))
        router.add("GET", "/api/v2/satisfaction_ratings.json", self._guard(self._ratings))
        router.add("GET", "/api/v2/incremental/ticket_events.json", self._guard(self._events))
        router.add("POST", "/api/v2/users/create_or_update_many.json", self._guard(self._upsert_users))
        router.add(
            "GET",
            "/api/v2/users/me.json",
            self._guard(
                lambda req: json_response(
                    {
                        "user": {
                            "id": 1,
                            "name": "Sandbox Agent",
                            "email": "agent@example.com",
                            "role": "admin",
                        }
                    }
                )
            ),
        )
        router.add("GET", "/api/v2/job_statuses/{job_id}", self._guard(self._job_status))
        router.add("GET", "/api/v2/users/search.json", self._guard(self._search_users))
        router.add("DELETE", "/api/v2/users/{user_id}", self._guard(self._soft_delete_user))
        router.add("DELETE", "/api/v2/deleted_users/{user_id}", self._guard(self._purge_user))

    def _search_users(self, req: Request) -> Response:
        """`query=email:ADDRESS` only: the users with that address (case-blind)."""
        query = req.arg("query") or ""
        if not query.startswith("email:"):
            return json_response(_error(400, "the sandbox searches users by `email:` only"), 400)
        email = query.removeprefix("email:").strip().lower()
        with self._lock:
            found = [
                dict(u) for u in self._objects["users"].values() if str(u.get("email") or "").lower() == email
            ]
        return json_response({"users": found, "count": len(found), "next_page": None, "previous_page": None})

    def _soft_delete_user(self, req: Request) -> Response:
        """DELETE /users/{id}: the user moves to the deleted users (still restorable)."""
        try:
            uid = int(req.params["user_id"].removesuffix(".json"))
        except ValueError:
            return json_response(_error(400, "user id must be an integer"), 400)
        with self._lock:
            user = self._objects["users"].pop(uid, None)
            if user is None:
                return json_response({"error": "RecordNotFound", "description": "Not found"}, 404)
            self.deleted_users[uid] = {**user, "active": False}
        return json_response({"user": {**user, "active": False}})

    def _purge_user(self, req: Request) -> Response:
        """DELETE /deleted_users/{id}: permanent; Zendesk scrubs the user's personal data."""
        try:
            uid = int(req.params["user_id"].removesuffix(".json"))
        except ValueError:
            return json_response(_error(400, "user id must be an integer"), 400)
        with self._lock:
            if self.deleted_users.pop(uid, None) is None:
                return json_response({"error": "RecordNotFound", "description": "Not found"}, 404)
            self.person_of.pop(uid, None)
            self.purged.append(uid)
        return json_response({"deleted_user": {"id": uid, "active": False}})

    def _rate_tickets(self, seed: int) -> None:
        """CSAT: some solved tickets get a good or bad rating from their requester."""
        rng = random.Random(seed + 102)  # its own stream: users and tickets stay as they were
        for tid, ticket in sorted(self._objects["tickets"].items()):
            if ticket["status"] not in ("solved", "closed") or rng.random() >= 0.4:
                continue
            rid = 11000000 + len(self.ratings)
            updated = datetime.fromisoformat(ticket["updated_at"].replace("Z", "+00:00"))
            at = iso(min(updated + timedelta(hours=rng.randint(1, 48)), EPOCH))
            good = rng.random() < 0.75
            self.ratings.append(
                {
                    "id": rid,
                    "url": f"https://sandbox.zendesk.com/api/v2/satisfaction_ratings/{rid}.json",
                    "assignee_id": None,
                    "group_id": None,
                    "requester_id": ticket["requester_id"],
                    "ticket_id": tid,
                    "score": "good" if good else "bad",
                    "comment": "Thanks, quick help!" if good else "Took too long.",
                    "reason": None if good else "The issue took too long to resolve",
                    "created_at": at,
                    "updated_at": at,
                }
            )

    def _comment_on_tickets(self, seed: int) -> None:
        """Each ticket's conversation as audits: the requester's comments, the agent's public
        replies and internal notes, and status changes beside them."""
        rng = random.Random(seed + 103)  # its own stream: users and tickets stay as they were
        for tid, ticket in sorted(self._objects["tickets"].items()):
            at = datetime.fromisoformat(ticket["created_at"].replace("Z", "+00:00"))
            for n in range(rng.randint(1, 3)):
                at += timedelta(hours=rng.randint(1, 30))
                if at > EPOCH:  # the conversation goes on after the data's "now": not yet
                    break
                from_requester = n % 2 == 0
                eid = 20000000 + len(self.ticket_events) * 10
                children: list[dict[str, Any]] = [
                    {
                        "id": eid + 1,
                        "event_type": "Comment",
                        "type": "Comment",
                        "author_id": ticket["requester_id"] if from_requester else _AGENT_ID,
                        "body": "Any news on this?" if from_requester else "We're on it.",
                        "html_body": "<p>...</p>",
                        "public": from_requester or rng.random() < 0.7,
                        "attachments": [],
                        "audit_id": eid,
                        "via": {"channel": "web"},
                    }
                ]
                if not from_requester:
                    children.append(
                        {
                            "id": eid + 2,
                            "event_type": "Change",
                            "field_name": "status",
                            "value": "pending",
                            "previous_value": "open",
                        }
                    )
                self.ticket_events.append(
                    {
                        "id": eid,
                        "ticket_id": tid,
                        "timestamp": _unix(iso(at)),
                        "created_at": iso(at),
                        "updater_id": children[0]["author_id"],
                        "via": {"channel": "web"},
                        "event_type": "Audit",
                        "child_events": children,
                    }
                )
        self.ticket_events.sort(key=lambda e: (e["timestamp"], e["id"]))

    def _events(self, req: Request) -> Response:
        comments = "comment_events" in (req.arg("include") or "").split(",")

        def shown(event: dict[str, Any]) -> dict[str, Any]:  # comments only when asked for
            return {
                **event,
                "child_events": [
                    c for c in event["child_events"] if comments or c["event_type"] != "Comment"
                ],
            }

        return self._time_page(req, "ticket_events", [(e["timestamp"], shown(e)) for e in self.ticket_events])

    def _ratings(self, req: Request) -> Response:
        try:
            size = int(req.arg("page[size]") or 100)
            after = int(base64.b64decode(req.arg("page[after]") or "MA==").decode())
            since = int(req.arg("start_time") or 0)
        except ValueError:
            return json_response(_error(400, "page[size], page[after] and start_time must be valid"), 400)
        if not 1 <= size <= 100:
            return json_response(_error(400, "page[size] must be between 1 and 100"), 400)
        chosen = [r for r in self.ratings if r["id"] > after and _unix(r["created_at"]) >= since]
        page, more = chosen[:size], len(chosen) > size
        cursor = base64.b64encode(str(page[-1]["id"]).encode()).decode() if page else None
        return json_response(
            {
                "satisfaction_ratings": page,
                "meta": {"has_more": more, "after_cursor": cursor if more else None, "before_cursor": None},
                "links": {
                    "prev": None,
                    "next": (
                        f"https://sandbox.zendesk.com/api/v2/satisfaction_ratings.json"
                        f"?page[size]={size}&page[after]={cursor}"
                    )
                    if more
                    else None,
                },
            }
        )

    # -- writes ------------------------------------------------------------
    def _upsert_users(self, req: Request) -> Response:
        users = (req.json() or {}).get("users")
        if not isinstance(users, list) or not users:
            return json_response(_error(400, "users: a non-empty array is required"), 400)
        if len(users) > _BATCH_MAX:
            return json_response(
                {
                    "error": "TooManyValues",
                    "description": f"You may create or update at most {_BATCH_MAX} users at a time",
                },
                400,
            )
        results = []
        with self._lock:
            by_email = {
                str(u.get("email") or "").lower(): oid
                for oid, u in self._objects["users"].items()
                if u.get("email")
            }
            for index, user in enumerate(users):
                email = str(user.get("email") or "").strip().lower()
                oid = by_email.get(email) if email else None
                problem = (
                    "Email: is not properly formatted"
                    if email and not _EMAIL.fullmatch(email)
                    else "Name: is too short (minimum one character)"
                    if oid is None and not user.get("name")
                    else None
                )
                if problem:
                    results.append(
                        {
                            "index": index,
                            "error": "UserCreateFailed" if oid is None else "UserUpdateFailed",
                            "details": problem,
                            "success": False,
                        }
                    )
                    continue
                fields = {k: user[k] for k in ("name", "phone", "external_id") if k in user}
                if oid is None:
                    oid = self.create("users", {"email": email, "organization_id": None, **fields})["id"]
                    by_email[email] = oid
                    action = "create"
                else:
                    self.update("users", oid, fields)
                    action = "update"
                results.append(
                    {
                        "id": oid,
                        "index": index,
                        "action": action,
                        "status": "Created" if action == "create" else "Updated",
                        "success": True,
                    }
                )
                self.upserts.append(email)
            job_id = uuid.uuid4().hex
            self._jobs[job_id] = {
                "id": job_id,
                "job_type": "Bulk Create or Update Users",
                "url": f"https://sandbox.zendesk.com/api/v2/job_statuses/{job_id}.json",
                "total": len(users),
                "progress": None,
                "status": "queued",
                "message": None,
                "results": None,
                "_results": results,
            }
        return json_response({"job_status": self._public(self._jobs[job_id])})

    def _job_status(self, req: Request) -> Response:
        job = self._jobs.get(req.params["job_id"].removesuffix(".json"))
        if job is None:
            return json_response(_error(404, ""), 404)
        public = self._public(job)
        with self._lock:  # the first look finds it queued, as a busy account would
            if job["status"] == "queued":
                job.update(
                    status="completed",
                    progress=job["total"],
                    message=f"Completed at {iso(datetime.now(UTC))}",
                    results=job["_results"],
                )
        return json_response({"job_status": public})

    @staticmethod
    def _public(job: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in job.items() if not k.startswith("_")}

    @staticmethod
    def _rate_headers() -> dict[str, str]:
        return {
            "X-Rate-Limit": "700",
            "X-Rate-Limit-Remaining": "699",
            "Zendesk-RateLimit-incremental-exports": "total=10; remaining=9; resets=60",
        }

    def _authorized(self, req: Request) -> bool:
        kind, user, secret = credentials(req)
        if kind == "bearer":
            return user == self.token
        return kind == "basic" and user.endswith("/token") and secret == self.token

    def _guard(self, handler: Callable[[Request], Response]) -> Callable[[Request], Response]:
        def guarded(req: Request) -> Response:
            if not self._authorized(req):
                return json_response(_error(401, ""), 401)
            return handler(req)

        return guarded

    def _sorted(self, kind: str) -> list[tuple[int, int, dict[str, Any]]]:
        with self._lock:
            return sorted((_unix(o["updated_at"]), oid, dict(o)) for oid, o in self._objects[kind].items())

    def _page_size(self, req: Request) -> int | Response:
        try:
            size = int(req.arg("per_page") or _PAGE_MAX)
        except ValueError:
            return json_response(_error(400, "per_page must be an integer"), 400)
        return max(1, min(size, _PAGE_MAX))

    def _cursor_export(self, kind: str) -> Callable[[Request], Response]:
        def export(req: Request) -> Response:
            size = self._page_size(req)
            if isinstance(size, Response):
                return size
            rows = self._sorted(kind)
            if req.arg("cursor"):
                try:
                    after = _uncursor(req.arg("cursor") or "")
                except ValueError:
                    return json_response(_error(400, "cursor is not valid"), 400)
                rows = [r for r in rows if (r[0], r[1]) > after]
            elif req.arg("start_time") is not None:
                try:
                    start = int(req.arg("start_time") or "")
                except ValueError:
                    return json_response(_error(400, "start_time must be a unix timestamp"), 400)
                rows = [r for r in rows if r[0] >= start]
            else:
                return json_response(_error(400, "start_time or cursor is required"), 400)
            page, end = rows[:size], len(rows) <= size
            after_cursor = _cursor(page[-1][0], page[-1][1]) if page else req.arg("cursor")
            base = f"https://sandbox.zendesk.com/api/v2/incremental/{kind}/cursor.json"
            return json_response(
                {
                    kind: [r[2] for r in page],
                    "after_cursor": after_cursor,
                    "after_url": f"{base}?cursor={after_cursor}" if after_cursor else None,
                    "before_cursor": None,
                    "before_url": None,
                    "end_of_stream": end,
                }
            )

        return export

    def _time_export(self, req: Request) -> Response:
        return self._time_page(
            req, "organizations", [(stamp, obj) for stamp, _, obj in self._sorted("organizations")]
        )

    def _time_page(
        self,
        req: Request,
        kind: str,
        rows: list[tuple[int, dict[str, Any]]],
    ) -> Response:
        """Zendesk's time-based export: from start_time, `end_time` is the next page's start
        (items stamped at the boundary repeat), until `end_of_stream`."""
        size = self._page_size(req)
        if isinstance(size, Response):
            return size
        try:
            start = int(req.arg("start_time") or "")
        except ValueError:
            return json_response(_error(400, "start_time must be a unix timestamp"), 400)
        rows = [r for r in rows if r[0] >= start]
        page = rows[:size]
        end = len(rows) <= size
        end_time = page[-1][0] if page else start
        base = f"https://sandbox.zendesk.com/api/v2/incremental/{kind}.json"
        return json_response(
            {
                kind: [r[1] for r in page],
                "count": len(page),
                "end_time": end_time,
                "next_page": None if end else f"{base}?start_time={end_time}",
                "end_of_stream": end,
            }
        )
