"""Mailchimp Marketing API v3, emulated: lists, list members, campaigns and email activity.

- GET /3.0/lists                                   offset paging (count <= 1000, offset)
- GET /3.0/lists/{list_id}/members                 since_last_changed, sort_field=last_changed,
                                                   sort_dir (ASC | DESC)
- GET /3.0/campaigns                               status=sent
- GET /3.0/reports/{campaign_id}/email-activity    since (activity at or after)
- POST /3.0/lists/{list_id}                        batch subscribe (<= 500, update_existing)
- DELETE /3.0/lists/{list_id}/members/{hash}       archive a member
- GET|POST /3.0/lists/{list_id}/segments, POST .../segments/{id}   tags (static segments)
Auth: HTTP Basic with any user name and the API key as password, or an OAuth
Bearer token. Errors are Mailchimp's problem documents (type, title, status, detail).

The subscribers are the CRM sandbox's people (same seed) as a newsletter sees
them: personal addresses more often than work ones, names in merge fields that
are sometimes left empty, and a member id that is the MD5 of the lower-cased
address, as Mailchimp computes it.
"""

from __future__ import annotations

import copy
import hashlib
import random
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from hub.sandbox.people import EPOCH, MAIL_PROVIDERS, generate
from hub.sandbox.server import Request, Response, Router, credentials, json_response

__all__ = ["Mailchimp", "subscriber_hash"]

_COUNT_MAX = 1000
_LISTS = ("Newsletter", "Customers")
_ACTIONS = ("open", "open", "open", "click", "bounce")
_BATCH_MAX = 500
_WRITABLE_STATUSES = ("subscribed", "pending", "unsubscribed", "transactional", "cleaned")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def subscriber_hash(email: str) -> str:
    return hashlib.md5(email.lower().encode()).hexdigest()  # Mailchimp's id, not security


def _error(status: int, message: str) -> dict[str, Any]:
    title = {
        401: "API Key Invalid",
        403: "Forbidden",
        404: "Resource Not Found",
        429: "Too Many Requests",
        400: "Invalid Resource",
    }.get(status, "Internal Server Error")
    return {
        "type": "https://mailchimp.com/developer/marketing/docs/errors/",
        "title": title,
        "status": status,
        "detail": message or title,
        "instance": "5f7a2c1e-sandbox",
    }


class Mailchimp:
    """The email tool's data (live: tests mutate it) and its HTTP routes."""

    def __init__(self, seed: int, scale: int, token: str) -> None:
        self.token = token
        self._lock = threading.RLock()
        rng = random.Random(seed + 202)
        people, _ = generate(seed, scale)
        self.lists: list[dict[str, Any]] = [
            {
                "id": hashlib.sha1(f"{seed}{name}".encode()).hexdigest()[:10],
                "name": name,
                "date_created": iso(EPOCH - timedelta(days=800)),
                "stats": {"member_count": 0},
            }
            for name in _LISTS
        ]
        # list id -> member id -> member; and member key -> index of the CRM person (the truth)
        self.members: dict[str, dict[str, dict[str, Any]]] = {lst["id"]: {} for lst in self.lists}
        self.person_of: dict[str, int] = {}
        for p in people:
            if rng.random() >= 0.55:
                continue
            email = (p.email or "").strip().lower()
            if not email or email.startswith("info@") or rng.random() < 0.2:
                email = f"{p.first}.{p.last}{p.index}@{rng.choice(MAIL_PROVIDERS)}".lower()
            for lst in self.lists:
                if lst["name"] == "Customers" and rng.random() < 0.5:
                    continue
                opted = EPOCH - timedelta(days=rng.randrange(30, 700))
                member = {
                    "id": subscriber_hash(email),
                    "email_address": email,
                    "unique_email_id": hashlib.sha1(f"{lst['id']}{email}".encode()).hexdigest()[:10],
                    "status": rng.choices(("subscribed", "unsubscribed", "cleaned"), (85, 10, 5))[0],
                    "merge_fields": {
                        "FNAME": p.first if rng.random() < 0.8 else "",
                        "LNAME": p.last if rng.random() < 0.7 else "",
                        "PHONE": "",
                    },
                    "timestamp_opt": iso(opted),
                    "last_changed": iso(opted + timedelta(days=rng.randrange(0, 29))),
                    "list_id": lst["id"],
                    "tags": [],
                }
                self.members[lst["id"]][member["id"]] = member
                self.person_of[f"{lst['id']}-{member['id']}"] = p.index
        self.campaigns: list[dict[str, Any]] = []
        self.archived: dict[str, dict[str, dict[str, Any]]] = {}  # list id -> member id -> member
        self.segments: dict[str, dict[int, dict[str, Any]]] = {}  # list id -> segment id -> segment
        self.upserts: list[tuple[str, str]] = []  # (list id, member id) per upserted member
        self.activity: dict[str, list[dict[str, Any]]] = {}
        for lst in self.lists:
            lst["stats"]["member_count"] = len(self.members[lst["id"]])
            for n in range(3):
                sent = EPOCH - timedelta(days=90 - 30 * n, hours=rng.randrange(24))
                cid = hashlib.sha1(f"{lst['id']}{n}".encode()).hexdigest()[:10]
                self.campaigns.append(
                    {
                        "id": cid,
                        "type": "regular",
                        "status": "sent",
                        "send_time": iso(sent),
                        "recipients": {"list_id": lst["id"]},
                        "settings": {"subject_line": f"{lst['name']} #{n + 1}"},
                    }
                )
                self.activity[cid] = [
                    {
                        "campaign_id": cid,
                        "list_id": lst["id"],
                        "email_id": m["id"],
                        "email_address": m["email_address"],
                        "activity": [
                            {
                                "action": rng.choice(_ACTIONS),
                                "timestamp": iso(sent + timedelta(minutes=rng.randrange(1, 5000))),
                                "ip": "192.0.2.1",
                            }
                            for _ in range(rng.randrange(1, 3))
                        ],
                    }
                    for m in self.members[lst["id"]].values()
                    if m["status"] == "subscribed" and rng.random() < 0.5
                ]

    def update_member(
        self, list_id: str, member_id: str, fields: dict[str, Any], at: datetime | None = None
    ) -> dict[str, Any]:
        with self._lock:
            member = self.members[list_id][member_id]
            member.update(fields, last_changed=iso(at or datetime.now(UTC)))
            return member

    def add_activity(
        self, campaign_id: str, email_id: str, action: str, at: datetime | None = None
    ) -> dict[str, Any]:
        """An open / click / bounce of a recipient, as the campaign report records it."""
        with self._lock:
            email = next(e for e in self.activity[campaign_id] if e["email_id"] == email_id)
            event = {"action": action, "timestamp": iso(at or datetime.now(UTC)), "ip": "192.0.2.1"}
            email["activity"].append(event)
            return event

    # -- HTTP --------------------------------------------------------------
    def register(self, router: Router) -> None:
        router.product("/3.0/", _error, keep=(self._save, self._restore))
        router.add("GET", "/3.0/lists", self._guard(lambda req: self._page(req, "lists", self.lists)))
        router.add("GET", "/3.0/lists/{list_id}", self._guard(self._list))
        router.add("GET", "/3.0/lists/{list_id}/members", self._guard(self._members))
        router.add(
            "GET",
            "/3.0/campaigns",
            self._guard(
                lambda req: self._page(
                    req, "campaigns", [c for c in self.campaigns if req.arg("status") in (None, c["status"])]
                )
            ),
        )
        router.add("GET", "/3.0/reports/{campaign_id}/email-activity", self._guard(self._activity))
        router.add("POST", "/3.0/lists/{list_id}", self._guard(self._batch_subscribe))
        router.add("DELETE", "/3.0/lists/{list_id}/members/{member_id}", self._guard(self._archive))
        router.add(
            "POST",
            "/3.0/lists/{list_id}/members/{member_id}/actions/delete-permanent",
            self._guard(self._delete_permanent),
        )
        router.add("GET", "/3.0/lists/{list_id}/segments", self._guard(self._segments))
        router.add("POST", "/3.0/lists/{list_id}/segments", self._guard(self._new_segment))
        router.add("POST", "/3.0/lists/{list_id}/segments/{segment_id}", self._guard(self._segment_members))

    def _save(self) -> Any:
        with self._lock:
            return copy.deepcopy((self.members, self.archived, self.segments))

    def _restore(self, saved: Any) -> None:
        parts: tuple[dict[str, dict[Any, Any]], ...] = (self.members, self.archived, self.segments)
        with self._lock:  # in place: a test may hold `members[list_id]` from before
            for current, before in zip(parts, saved, strict=True):
                for list_id in set(current) - set(before):
                    del current[list_id]
                for list_id, items in before.items():
                    current.setdefault(list_id, {}).clear()
                    current[list_id].update(items)

    def _authorized(self, req: Request) -> bool:
        kind, user, secret = credentials(req)
        return (user if kind == "bearer" else secret if kind == "basic" else None) == self.token

    def _guard(self, handler: Callable[[Request], Response]) -> Callable[[Request], Response]:
        def guarded(req: Request) -> Response:
            if not self._authorized(req):
                return json_response(
                    _error(
                        401,
                        "Your API key may be invalid, or you've attempted to access the wrong datacenter.",
                    ),
                    401,
                )
            return handler(req)

        return guarded

    def _page(
        self, req: Request, kind: str, items: list[dict[str, Any]], extra: dict[str, Any] | None = None
    ) -> Response:
        try:
            count = max(1, min(int(req.arg("count") or 10), _COUNT_MAX))
            offset = max(0, int(req.arg("offset") or 0))
        except ValueError:
            return json_response(_error(400, "count and offset must be integers"), 400)
        return json_response(
            {kind: items[offset : offset + count], "total_items": len(items), **(extra or {}), "_links": []}
        )

    def _members(self, req: Request) -> Response:
        list_id = req.params["list_id"]
        if list_id not in self.members:
            return json_response(_error(404, "The requested resource could not be found."), 404)
        sort_dir = (req.arg("sort_dir") or "ASC").upper()
        if sort_dir not in ("ASC", "DESC"):
            return json_response(_error(400, "sort_dir: value not allowed (ASC or DESC)"), 400)
        with self._lock:
            items = sorted(
                (dict(m) for m in self.members[list_id].values()),
                key=lambda m: (m["last_changed"], m["id"]),
                reverse=sort_dir == "DESC",
            )
        since = req.arg("since_last_changed")
        if since:
            items = [m for m in items if m["last_changed"] >= iso(_parse(since))]
        return self._page(req, "members", items, {"list_id": list_id})

    # -- writes ------------------------------------------------------------
    def _batch_subscribe(self, req: Request) -> Response:
        list_id = req.params["list_id"]
        if list_id not in self.members:
            return json_response(_error(404, "The requested resource could not be found."), 404)
        body = req.json() or {}
        items = body.get("members")
        if not isinstance(items, list) or len(items) > _BATCH_MAX:
            return json_response(
                _error(400, f"members: Schema describes array with at most {_BATCH_MAX} items"), 400
            )
        new, updated, errors = [], [], []
        now = iso(datetime.now(UTC))
        with self._lock:
            for item in items:
                email = str(item.get("email_address") or "").strip()
                if not _EMAIL.fullmatch(email):
                    errors.append(
                        {
                            "email_address": email,
                            "error": f"{email} looks fake or invalid, please enter a real email address.",
                            "error_code": "ERROR_GENERIC",
                            "field": "email_address",
                            "field_message": "",
                        }
                    )
                    continue
                if (item.get("status_if_new") or "subscribed") not in _WRITABLE_STATUSES:
                    return json_response(_error(400, "status_if_new: value not allowed"), 400)
                mid = subscriber_hash(email)
                member = self.members[list_id].get(mid)
                fields = {k: v for k, v in (item.get("merge_fields") or {}).items()}
                if member is not None:
                    if not body.get("update_existing"):
                        errors.append(
                            {
                                "email_address": email,
                                "error": f"{email} is already a list member.",
                                "error_code": "ERROR_CONTACT_EXISTS",
                            }
                        )
                        continue
                    member["merge_fields"] = {**member["merge_fields"], **fields}
                    if item.get("status") in _WRITABLE_STATUSES:  # e.g. an unsubscribe
                        member["status"] = item["status"]
                    member["last_changed"] = now
                    updated.append(member)
                else:
                    member = {
                        "id": mid,
                        "email_address": email.lower(),
                        "unique_email_id": hashlib.sha1(f"{list_id}{email}".encode()).hexdigest()[:10],
                        "status": item.get("status_if_new") or "subscribed",
                        "merge_fields": {"FNAME": "", "LNAME": "", "PHONE": "", **fields},
                        "timestamp_opt": now,
                        "last_changed": now,
                        "list_id": list_id,
                        "tags": [],
                    }
                    self.members[list_id][mid] = member
                    new.append(member)
                self.upserts.append((list_id, mid))
        return json_response(
            {
                "new_members": new,
                "updated_members": updated,
                "errors": errors,
                "total_created": len(new),
                "total_updated": len(updated),
                "error_count": len(errors),
            }
        )

    def _archive(self, req: Request) -> Response:
        list_id, mid = req.params["list_id"], req.params["member_id"]
        with self._lock:
            member = self.members.get(list_id, {}).pop(mid, None)
        if member is None:
            return json_response(_error(404, "The requested resource could not be found."), 404)
        self.archived.setdefault(list_id, {})[mid] = member
        return Response(204, b"")

    def _delete_permanent(self, req: Request) -> Response:
        """The member (archived or not) and their email activity go for good: 204, or 404."""
        list_id, mid = req.params["list_id"], req.params["member_id"]
        with self._lock:
            member = self.members.get(list_id, {}).pop(mid, None)
            member = self.archived.get(list_id, {}).pop(mid, None) or member
            if member is None:
                return json_response(_error(404, "The requested resource could not be found."), 404)
            email = member["email_address"].lower()
            for cid, emails in self.activity.items():
                self.activity[cid] = [
                    e for e in emails if not (e["list_id"] == list_id and e["email_address"].lower() == email)
                ]
        return Response(204, b"")

    def _list(self, req: Request) -> Response:
        found = next((lst for lst in self.lists if lst["id"] == req.params["list_id"]), None)
        if found is None:
            return json_response(_error(404, "The requested resource could not be found."), 404)
        return json_response(found)

    def _segments(self, req: Request) -> Response:
        list_id = req.params["list_id"]
        found = [s for s in self.segments.get(list_id, {}).values() if req.arg("type") in (None, s["type"])]
        return self._page(req, "segments", found, {"list_id": list_id})

    def _new_segment(self, req: Request) -> Response:
        list_id = req.params["list_id"]
        name = str((req.json() or {}).get("name") or "")
        if not name:
            return json_response(_error(400, "name: This value should not be blank."), 400)
        with self._lock:
            segments = self.segments.setdefault(list_id, {})
            if any(s["name"] == name for s in segments.values()):
                return json_response(_error(400, "Sorry, that tag already exists."), 400)
            seg: dict[str, Any] = {
                "id": len(segments) + 1,
                "name": name,
                "type": "static",
                "member_count": 0,
                "list_id": list_id,
            }
            segments[seg["id"]] = seg
        return json_response(seg)

    def _segment_members(self, req: Request) -> Response:
        list_id = req.params["list_id"]
        seg = self.segments.get(list_id, {}).get(int(req.params["segment_id"]))
        if seg is None:
            return json_response(_error(404, "The requested resource could not be found."), 404)
        emails = (req.json() or {}).get("members_to_add") or []
        if len(emails) > _BATCH_MAX:
            return json_response(_error(400, f"members_to_add: at most {_BATCH_MAX}"), 400)
        added, errors = [], []
        with self._lock:
            for email in emails:
                member = self.members[list_id].get(subscriber_hash(str(email)))
                if member is None:
                    errors.append(
                        {"email_addresses": [email], "error": "Email address is not subscribed to the list"}
                    )
                    continue
                if all(t["id"] != seg["id"] for t in member["tags"]):
                    member["tags"].append({"id": seg["id"], "name": seg["name"]})
                    seg["member_count"] += 1
                added.append(member)
        return json_response(
            {
                "members_added": added,
                "members_removed": [],
                "errors": errors,
                "total_added": len(added),
                "total_removed": 0,
                "error_count": len(errors),
            }
        )

    def _activity(self, req: Request) -> Response:
        cid = req.params["campaign_id"]
        if cid not in self.activity:
            return json_response(_error(404, "The requested resource could not be found."), 404)
        items = self.activity[cid]
        since = req.arg("since")
        if since:
            cutoff = iso(_parse(since))
            items = [{**e, "activity": [a for a in e["activity"] if a["timestamp"] >= cutoff]} for e in items]
            items = [e for e in items if e["activity"]]
        return self._page(req, "emails", items, {"campaign_id": cid})


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
