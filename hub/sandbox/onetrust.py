"""OneTrust Consent Receipts API, emulated: consent transactions from a collection point.

- POST /request/v1/consentreceipts   {identifier, requestInformation (the collection point's
                                     token), purposes: [{Id, TransactionType}], interactionDate}
A receipt records one transaction per purpose; the data subject's status per
purpose follows the last one (CONFIRMED -> ACTIVE, WITHDRAWN -> WITHDRAWN).
A wrong token is 401; an unknown purpose or a missing identifier is 400.
"""

from __future__ import annotations

import re
import threading
import uuid
from typing import Any

from hub.sandbox.server import Request, Response, Router, json_response

__all__ = ["OneTrust", "PURPOSES"]

# purpose name -> the purpose's id in OneTrust (GUIDs, as the real ones are)
PURPOSES = {"newsletter": "2c1f5d0a-6a63-4b9d-9d35-0f6f0c3f7a01",
            "product_updates": "7b0e6c9e-0f1d-4f3c-8b7a-3e2d1c0b9a02",
            "profiling": "c3d2e1f0-a9b8-4c7d-8e6f-5a4b3c2d1e03"}
_STATUS = {"CONFIRMED": "ACTIVE", "WITHDRAWN": "WITHDRAWN", "NOTGIVEN": "NO_CONSENT"}
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")


def _error(status: int, message: str) -> dict[str, Any]:
    return {"status": status, "message": message, "timestamp": "2026-11-25T12:00:00.000Z"}


class OneTrust:
    def __init__(self, token: str) -> None:
        self.token = token
        self._lock = threading.Lock()
        self.receipts: list[dict[str, Any]] = []
        self.subjects: dict[str, dict[str, str]] = {}  # identifier -> purpose id -> status

    def register(self, router: Router) -> None:
        router.product("/request/v1/", _error)
        router.add("POST", "/request/v1/consentreceipts", self._receipt)

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
        known = set(PURPOSES.values())
        for p in purposes:
            if p.get("Id") not in known:
                return json_response(_error(400, f"Purpose {p.get('Id')} does not exist on this "
                                                 "collection point"), 400)
            if p.get("TransactionType", "CONFIRMED") not in _STATUS:
                return json_response(_error(400, f"TransactionType {p.get('TransactionType')} "
                                                 "is not supported"), 400)
        receipt = str(uuid.uuid4())
        with self._lock:
            subject = self.subjects.setdefault(identifier.lower(), {})
            for p in purposes:
                subject[p["Id"]] = _STATUS[p.get("TransactionType", "CONFIRMED")]
            self.receipts.append({"receipt": receipt, "identifier": identifier.lower(),
                                  "purposes": purposes,
                                  "interactionDate": body.get("interactionDate")})
        return json_response({"receipt": receipt, "identifier": identifier})
