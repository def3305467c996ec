"""OneTrust Universal Consent & Preference Management, emulated: data subjects and receipts.

- GET  /api/consentmanager/v1/datasubjects/profiles   Bearer token; page (from 0), size
       (<= 2000), updatedSince, toDate, purposeGuid, properties=ignoreCount, and the
       `identifier` header for one subject. A Spring page: content, number, size,
       numberOfElements, first, last (totals unless ignoreCount), requestContinuation.
       Newest change first (descending LastUpdatedDate).
- POST /request/v1/consentreceipts   {identifier, requestInformation (the collection point's
       token), purposes: [{Id, TransactionType}], interactionDate}
A receipt records one transaction per purpose; the data subject's status per
purpose follows the last one (CONFIRMED -> ACTIVE, WITHDRAWN -> WITHDRAWN), and
the subject's LastUpdatedDate moves. A wrong token is 401; an unknown purpose or
a missing identifier is 400.

The data subjects are the CRM sandbox's people (same seed) who met a consent
form: about 30 %, with the email as typed there (case, a shared info@ inbox),
and a few subjects no other system knows.
"""

from __future__ import annotations

import copy
import random
import re
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from hub.sandbox.people import EPOCH, FIRST, LAST, MAIL_PROVIDERS, generate
from hub.sandbox.server import Request, Response, Router, json_response

__all__ = ["OneTrust", "PURPOSES", "PROFILES"]

PROFILES = "/api/consentmanager/v1/datasubjects/profiles"
# purpose name -> the purpose's id in OneTrust (GUIDs, as the real ones are)
PURPOSES = {
    "newsletter": "2c1f5d0a-6a63-4b9d-9d35-0f6f0c3f7a01",
    "product_updates": "7b0e6c9e-0f1d-4f3c-8b7a-3e2d1c0b9a02",
    "profiling": "c3d2e1f0-a9b8-4c7d-8e6f-5a4b3c2d1e03",
}
_NAMES = {
    PURPOSES["newsletter"]: "Newsletter",
    PURPOSES["product_updates"]: "Product Updates",
    PURPOSES["profiling"]: "Profiling",
}
COLLECTION_POINT = "5d6b0f2e-1c3a-4e8b-9f7d-2a1b3c4d5e06"
_STATUS = {"CONFIRMED": "ACTIVE", "WITHDRAWN": "WITHDRAWN", "NOTGIVEN": "NO_CONSENT"}
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")
_SIZE_MAX = 2000


def stamp(dt: datetime) -> str:
    """OneTrust's dates: UTC, milliseconds, no zone designator."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]


def _parse(value: str) -> datetime:
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _error(status: int, message: str) -> dict[str, Any]:
    return {"status": status, "message": message, "timestamp": "2026-11-25T12:00:00.000Z"}


class OneTrust:
    def __init__(self, token: str, seed: int = 42, scale: int = 0) -> None:
        self.token = token
        self._lock = threading.Lock()
        self.receipts: list[dict[str, Any]] = []
        self.profiles: dict[str, dict[str, Any]] = {}  # lowercased identifier -> data subject
        self.person_of: dict[str, int] = {}  # data subject id -> CRM person index (the truth)
        rng = random.Random(seed + 505)
        people, _ = generate(seed, scale) if scale else ([], [])
        for p in people:
            email = (p.email or "").strip()
            if not email or rng.random() >= 0.3:
                continue
            if rng.random() < 0.15:
                email = email.upper() if rng.random() < 0.5 else email.capitalize()
            subject = self._seed_subject(rng, email, p.created)
            self.person_of[subject["Id"]] = p.index
        for n in range(max(1, scale // 25)):  # subjects only the consent system knows
            first, last = rng.choice(FIRST), rng.choice(LAST)
            self._seed_subject(
                rng,
                f"{first}.{last}.form{n}@{rng.choice(MAIL_PROVIDERS)}".lower(),
                EPOCH - timedelta(days=rng.randint(1, 500)),
            )

    def _seed_subject(self, rng: random.Random, email: str, since: datetime) -> dict[str, Any]:
        # within [EPOCH - 700 d, EPOCH - 200 d], so every later transaction is before EPOCH
        created = min(max(since, EPOCH - timedelta(days=700)), EPOCH - timedelta(days=290))
        created += timedelta(hours=rng.randint(1, 2000))
        subject: dict[str, Any] = {
            "Id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "Identifier": email,
            "Language": rng.choice(("en-us", "en-gb", None)),
            "CreatedDate": stamp(created),
            "LastUpdatedDate": stamp(created),
            "TestDataSubject": False,
            "Purposes": [],
        }
        for pid in rng.sample(sorted(_NAMES), rng.randint(1, 3)):
            first = created + timedelta(minutes=rng.randint(0, 600))
            status = rng.choices(("ACTIVE", "WITHDRAWN", "PENDING", "EXPIRED"), (70, 20, 5, 5))[0]
            last = first if status in ("ACTIVE", "PENDING") else (first + timedelta(days=rng.randint(1, 180)))
            subject["Purposes"].append(self._purpose(pid, status, first, last, 2 if last != first else 1))
            subject["LastUpdatedDate"] = max(subject["LastUpdatedDate"], stamp(last))
        self.profiles[email.lower()] = subject
        return subject

    @staticmethod
    def _purpose(pid: str, status: str, first: datetime, last: datetime, count: int) -> dict[str, Any]:
        return {
            "Id": pid,
            "Name": _NAMES.get(pid, pid),
            "Version": 1,
            "Status": status,
            "FirstTransactionDate": stamp(first),
            "LastTransactionDate": stamp(last),
            "ConsentDate": stamp(first) if status != "PENDING" else None,
            "WithdrawalDate": stamp(last) if status == "WITHDRAWN" else None,
            "TotalTransactionCount": count,
            "Topics": [],
            "CustomPreferences": [],
            "LastTransactionCollectionPointId": COLLECTION_POINT,
            "LastTransactionCollectionPointVersion": 1,
        }

    def _save(self) -> Any:
        """The data subjects and receipts, for a `dropped` receipt."""
        with self._lock:
            return copy.deepcopy(self.profiles), list(self.receipts)

    def _restore(self, saved: Any) -> None:
        profiles, receipts = saved
        with self._lock:  # in place: a test may hold `profiles` from before
            self.profiles.clear()
            self.profiles.update(profiles)
            self.receipts[:] = receipts

    @property
    def subjects(self) -> dict[str, dict[str, str]]:
        """identifier -> purpose id -> status: the consent state, for tests."""
        with self._lock:
            return {k: {p["Id"]: p["Status"] for p in s["Purposes"]} for k, s in self.profiles.items()}

    def touch(self, identifier: str, purpose: str, status: str, at: datetime | None = None) -> None:
        """Record a transaction made in OneTrust's own UI (moves LastUpdatedDate)."""
        now = at or datetime.now(UTC)
        with self._lock:
            self._transact(identifier, purpose, status, now, now)

    def _transact(self, identifier: str, pid: str, status: str, when: datetime, now: datetime) -> None:
        subject = self.profiles.get(identifier.lower())
        if subject is None:
            subject = {
                "Id": str(uuid.uuid4()),
                "Identifier": identifier,
                "Language": None,
                "CreatedDate": stamp(now),
                "LastUpdatedDate": stamp(now),
                "TestDataSubject": False,
                "Purposes": [],
            }
            self.profiles[identifier.lower()] = subject
        old = next((p for p in subject["Purposes"] if p["Id"] == pid), None)
        new = self._purpose(
            pid,
            status,
            _parse(old["FirstTransactionDate"]) if old else when,
            when,
            (old["TotalTransactionCount"] if old else 0) + 1,
        )
        if old and status == "WITHDRAWN":
            new["ConsentDate"] = old["ConsentDate"]
        subject["Purposes"] = [p for p in subject["Purposes"] if p["Id"] != pid] + [new]
        subject["LastUpdatedDate"] = stamp(now)

    def register(self, router: Router) -> None:
        router.product("/request/v1/", _error, keep=(self._save, self._restore))
        router.product("/api/consentmanager/", _error)
        router.add("POST", "/request/v1/consentreceipts", self._receipt)
        router.add("GET", PROFILES, self._profiles)
        router.add("DELETE", "/api/consentmanager/v2/datasubjects", self._delete_subjects)

    def _delete_subjects(self, req: Request) -> Response:
        """Delete Data Subjects by identifier (at most 999), receipts included. OneTrust
        queues the deletion (202); the sandbox does it at once and says how many matched."""
        if req.headers.get("authorization") != f"Bearer {self.token}":
            return json_response({"error": "invalid_token", "error_description": "Invalid access token"}, 401)
        identifiers = (req.json() or {}).get("identifiers")
        if not isinstance(identifiers, list) or not identifiers or len(identifiers) > 999:
            return json_response(_error(400, "identifiers: between 1 and 999 values are required"), 400)
        wanted = {str(i).strip().lower() for i in identifiers}
        with self._lock:
            gone = [key for key, s in self.profiles.items() if s["Identifier"].strip().lower() in wanted]
            for key in gone:
                subject = self.profiles.pop(key)
                self.person_of.pop(subject["Id"], None)
            self.receipts = [r for r in self.receipts if str(r.get("identifier", "")).lower() not in wanted]
        return json_response({"status": "ACCEPTED", "count": len(gone)}, 202)

    def _profiles(self, req: Request) -> Response:
        if req.headers.get("authorization") != f"Bearer {self.token}":
            return json_response({"error": "invalid_token", "error_description": "Invalid access token"}, 401)
        q = {k: v[0] for k, v in req.query.items() if v}
        try:
            page, size = int(q.get("page", 0)), int(q.get("size", 20))
            since = _parse(q["updatedSince"]) if q.get("updatedSince") else None
            until = _parse(q["toDate"]) if q.get("toDate") else None
        except ValueError as exc:
            return json_response(_error(400, f"Invalid request parameter: {exc}"), 400)
        if page < 0 or not 1 <= size <= _SIZE_MAX:
            return json_response(_error(400, f"page must be >= 0 and size 1..{_SIZE_MAX}"), 400)
        with self._lock:
            rows = [
                s
                for s in self.profiles.values()
                if (since is None or _parse(s["LastUpdatedDate"]) >= since)
                and (until is None or _parse(s["LastUpdatedDate"]) <= until)
            ]
            if req.headers.get("identifier"):
                rows = [
                    s for s in rows if s["Identifier"].lower() == req.headers["identifier"].strip().lower()
                ]
            if q.get("purposeGuid"):
                rows = [
                    {**s, "Purposes": [p for p in s["Purposes"] if p["Id"] == q["purposeGuid"]]} for s in rows
                ]
                rows = [s for s in rows if s["Purposes"]]
            rows.sort(key=lambda s: (s["LastUpdatedDate"], s["Id"]), reverse=True)
            chunk = [
                dict(s, Purposes=[dict(p) for p in s["Purposes"]])
                for s in rows[page * size : (page + 1) * size]
            ]
        pages = max(1, -(-len(rows) // size))
        body: dict[str, Any] = {
            "content": chunk,
            "number": page,
            "size": size,
            "numberOfElements": len(chunk),
            "first": page == 0,
            "last": page >= pages - 1,
            "requestContinuation": f"rc-{page + 1}",
        }
        if "ignoreCount" not in q.get("properties", ""):
            body.update(totalElements=len(rows), totalPages=pages)
        return json_response(body)

    def _receipt(self, req: Request) -> Response:
        body = req.json() or {}
        if body.get("requestInformation") != self.token:
            return json_response(_error(401, "Invalid request token"), 401)
        identifier = str(body.get("identifier") or "").strip()
        if not identifier:
            return json_response(_error(400, "identifier is required"), 400)
        if body.get("identifierType", "Email") == "Email" and not _EMAIL.fullmatch(identifier):
            return json_response(_error(400, f"identifier {identifier} is not a valid email"), 400)
        purposes = body.get("purposes") or []
        for p in purposes:
            if p.get("Id") not in _NAMES:
                return json_response(
                    _error(400, f"Purpose {p.get('Id')} does not exist on this collection point"), 400
                )
            if p.get("TransactionType", "CONFIRMED") not in _STATUS:
                return json_response(
                    _error(400, f"TransactionType {p.get('TransactionType')} is not supported"), 400
                )
        now = datetime.now(UTC)
        try:
            when = _parse(body["interactionDate"]) if body.get("interactionDate") else now
        except ValueError:
            return json_response(_error(400, "interactionDate is not an ISO-8601 date"), 400)
        receipt = str(uuid.uuid4())
        with self._lock:
            for p in purposes:
                self._transact(identifier, p["Id"], _STATUS[p.get("TransactionType", "CONFIRMED")], when, now)
            self.receipts.append(
                {
                    "receipt": receipt,
                    "identifier": identifier.lower(),
                    "purposes": purposes,
                    "interactionDate": body.get("interactionDate"),
                }
            )
        return json_response({"receipt": receipt, "identifier": identifier})
