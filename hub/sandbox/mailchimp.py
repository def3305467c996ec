"""Mailchimp Marketing API v3, emulated: lists, list members, campaigns and email activity.

- GET /3.0/lists                                   offset paging (count <= 1000, offset)
- GET /3.0/lists/{list_id}/members                 since_last_changed, sort_field=last_changed
- GET /3.0/campaigns                               status=sent
- GET /3.0/reports/{campaign_id}/email-activity    since (activity at or after)
Auth: HTTP Basic with any user name and the API key as password, or an OAuth
Bearer token. Errors are Mailchimp's problem documents (type, title, status, detail).

The subscribers are the CRM sandbox's people (same seed) as a newsletter sees
them: personal addresses more often than work ones, names in merge fields that
are sometimes left empty, and a member id that is the MD5 of the lower-cased
address, as Mailchimp computes it.
"""

from __future__ import annotations

import hashlib
import random
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


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def subscriber_hash(email: str) -> str:
    return hashlib.md5(email.lower().encode()).hexdigest()  # noqa: S324 - Mailchimp's id, not security


def _error(status: int, message: str) -> dict[str, Any]:
    title = {401: "API Key Invalid", 403: "Forbidden", 404: "Resource Not Found",
             429: "Too Many Requests", 400: "Invalid Resource"}.get(status, "Internal Server Error")
    return {"type": "https://mailchimp.com/developer/marketing/docs/errors/", "title": title,
            "status": status, "detail": message or title, "instance": "5f7a2c1e-sandbox"}


class Mailchimp:
    """The email tool's data (live: tests mutate it) and its HTTP routes."""

    def __init__(self, seed: int, scale: int, token: str) -> None:
        self.token = token
        self._lock = threading.RLock()
        rng = random.Random(seed + 202)
        people, _ = generate(seed, scale)
        self.lists = [{"id": hashlib.sha1(f"{seed}{name}".encode()).hexdigest()[:10], "name": name,
                       "date_created": iso(EPOCH - timedelta(days=800)),
                       "stats": {"member_count": 0}} for name in _LISTS]
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
                    "id": subscriber_hash(email), "email_address": email,
                    "unique_email_id": hashlib.sha1(f"{lst['id']}{email}".encode()).hexdigest()[:10],
                    "status": rng.choices(("subscribed", "unsubscribed", "cleaned"), (85, 10, 5))[0],
                    "merge_fields": {"FNAME": p.first if rng.random() < 0.8 else "",
                                     "LNAME": p.last if rng.random() < 0.7 else "",
                                     "PHONE": ""},
                    "timestamp_opt": iso(opted),
                    "last_changed": iso(opted + timedelta(days=rng.randrange(0, 29))),
                    "list_id": lst["id"], "tags": [],
                }
                self.members[lst["id"]][member["id"]] = member
                self.person_of[f"{lst['id']}-{member['id']}"] = p.index
        self.campaigns: list[dict[str, Any]] = []
        self.activity: dict[str, list[dict[str, Any]]] = {}
        for lst in self.lists:
            lst["stats"]["member_count"] = len(self.members[lst["id"]])
            for n in range(3):
                sent = EPOCH - timedelta(days=90 - 30 * n, hours=rng.randrange(24))
                cid = hashlib.sha1(f"{lst['id']}{n}".encode()).hexdigest()[:10]
                self.campaigns.append({"id": cid, "type": "regular", "status": "sent",
                                       "send_time": iso(sent), "recipients": {"list_id": lst["id"]},
                                       "settings": {"subject_line": f"{lst['name']} #{n + 1}"}})
                self.activity[cid] = [
                    {"campaign_id": cid, "list_id": lst["id"], "email_id": m["id"],
                     "email_address": m["email_address"],
                     "activity": [{"action": rng.choice(_ACTIONS),
                                   "timestamp": iso(sent + timedelta(minutes=rng.randrange(1, 5000))),
                                   "ip": "192.0.2.1"} for _ in range(rng.randrange(1, 3))]}
                    for m in self.members[lst["id"]].values()
                    if m["status"] == "subscribed" and rng.random() < 0.5]

    def update_member(self, list_id: str, member_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            member = self.members[list_id][member_id]
            member.update(fields, last_changed=iso(datetime.now(UTC)))
            return member

    # -- HTTP --------------------------------------------------------------
    def register(self, router: Router) -> None:
        router.product("/3.0/", _error)
        router.add("GET", "/3.0/lists", self._guard(lambda req: self._page(req, "lists", self.lists)))
        router.add("GET", "/3.0/lists/{list_id}/members", self._guard(self._members))
        router.add("GET", "/3.0/campaigns", self._guard(
            lambda req: self._page(req, "campaigns", [c for c in self.campaigns
                                                      if req.arg("status") in (None, c["status"])])))
        router.add("GET", "/3.0/reports/{campaign_id}/email-activity", self._guard(self._activity))

    def _authorized(self, req: Request) -> bool:
        kind, user, secret = credentials(req)
        return (user if kind == "bearer" else secret if kind == "basic" else None) == self.token

    def _guard(self, handler: Callable[[Request], Response]) -> Callable[[Request], Response]:
        def guarded(req: Request) -> Response:
            if not self._authorized(req):
                return json_response(_error(401, "Your API key may be invalid, or you've attempted "
                                                 "to access the wrong datacenter."), 401)
            return handler(req)

        return guarded

    def _page(self, req: Request, kind: str, items: list[dict[str, Any]],
              extra: dict[str, Any] | None = None) -> Response:
        try:
            count = max(1, min(int(req.arg("count") or 10), _COUNT_MAX))
            offset = max(0, int(req.arg("offset") or 0))
        except ValueError:
            return json_response(_error(400, "count and offset must be integers"), 400)
        return json_response({kind: items[offset:offset + count], "total_items": len(items),
                              **(extra or {}), "_links": []})

    def _members(self, req: Request) -> Response:
        list_id = req.params["list_id"]
        if list_id not in self.members:
            return json_response(_error(404, "The requested resource could not be found."), 404)
        with self._lock:
            items = sorted((dict(m) for m in self.members[list_id].values()),
                           key=lambda m: (m["last_changed"], m["id"]))
        since = req.arg("since_last_changed")
        if since:
            items = [m for m in items if m["last_changed"] >= iso(_parse(since))]
        return self._page(req, "members", items, {"list_id": list_id})

    def _activity(self, req: Request) -> Response:
        cid = req.params["campaign_id"]
        if cid not in self.activity:
            return json_response(_error(404, "The requested resource could not be found."), 404)
        items = self.activity[cid]
        since = req.arg("since")
        if since:
            cutoff = iso(_parse(since))
            items = [{**e, "activity": [a for a in e["activity"] if a["timestamp"] >= cutoff]}
                     for e in items]
            items = [e for e in items if e["activity"]]
        return self._page(req, "emails", items, {"campaign_id": cid})


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
