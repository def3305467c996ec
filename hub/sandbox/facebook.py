"""Facebook Marketing API Custom Audiences, emulated: add and remove hashed people.

- POST   /v19.0/{audience_id}/users   payload {schema, data}: rows of SHA-256 hashes
- DELETE /v19.0/{audience_id}/users   the same payload, removes
- GET    /v19.0/{audience_id}         the audience's id and name
Auth is the `access_token` query parameter; errors are Graph API error objects
(a bad token is HTTP 400 with code 190, as Facebook answers). A row whose
hashes are not SHA-256 hex, or that has no email and no phone, is invalid and
reported in `invalid_entry_samples`; the others are applied.
"""

from __future__ import annotations

import re
import threading
import uuid
from typing import Any

from hub.sandbox.server import Request, Response, Router, json_response

__all__ = ["Facebook"]

AUDIENCE_ID = "23850000000000001"
API_VERSION = "v19.0"
_SCHEMA_KEYS = {"EMAIL", "PHONE", "FN", "LN", "COUNTRY", "CT", "ZIP", "EXTERN_ID"}
_MAX_ROWS = 10_000
_HEX = re.compile(r"[0-9a-f]{64}")


def _error(message: str, code: int, kind: str = "OAuthException") -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "code": code, "fbtrace_id": uuid.uuid4().hex[:11]}}


class Facebook:
    def __init__(self, token: str) -> None:
        self.token = token
        self._lock = threading.Lock()
        # audience id -> the people in it, each known by their first identifier hash
        self.audiences: dict[str, dict[str, list[str]]] = {AUDIENCE_ID: {}}

    def register(self, router: Router) -> None:
        router.product(f"/{API_VERSION}/", lambda status, msg: _error(msg, 1, "GraphMethodException"))
        path = f"/{API_VERSION}/{{audience_id}}/users"
        router.add("POST", path, lambda r: self._users(r, add=True))
        router.add("DELETE", path, lambda r: self._users(r, add=False))
        router.add("GET", f"/{API_VERSION}/{{audience_id}}", self._audience)

    def _audience(self, req: Request) -> Response:
        if req.arg("access_token") != self.token:
            return json_response(_error("Invalid OAuth access token - Cannot parse access token", 190), 400)
        if req.params["audience_id"] not in self.audiences:
            return json_response(
                _error(
                    f"Unsupported get request. Object with ID '{req.params['audience_id']}' does not exist",
                    100,
                    "GraphMethodException",
                ),
                400,
            )
        return json_response({"id": req.params["audience_id"], "name": "Crossdock sandbox audience"})

    def _users(self, req: Request, add: bool) -> Response:
        if req.arg("access_token") != self.token:
            return json_response(_error("Invalid OAuth access token - Cannot parse access token", 190), 400)
        audience = self.audiences.get(req.params["audience_id"])
        if audience is None:
            return json_response(
                _error(
                    f"Unsupported post request. Object with ID '{req.params['audience_id']}' does not exist",
                    100,
                    "GraphMethodException",
                ),
                400,
            )
        payload = (req.json() or {}).get("payload") or {}
        schema, data = payload.get("schema"), payload.get("data")
        schema = [schema] if isinstance(schema, str) else schema
        if not schema or not set(schema) <= _SCHEMA_KEYS or not isinstance(data, list):
            return json_response(_error("(#100) Invalid parameter: payload.schema", 100), 400)
        if len(data) > _MAX_ROWS:
            return json_response(_error(f"(#100) Too many users in payload; at most {_MAX_ROWS}", 100), 400)
        invalid: dict[str, str] = {}
        with self._lock:
            for row in data:
                row = row if isinstance(row, list) else [row]
                bad = next((v for v in row if v and not _HEX.fullmatch(str(v))), None)
                if len(row) != len(schema) or bad is not None:
                    invalid[str(bad or row)] = "Invalid format: not a SHA-256 hash"
                    continue
                ids = {k: v for k, v in zip(schema, row, strict=True) if v}
                person = ids.get("EMAIL") or ids.get("PHONE")
                if not person:
                    invalid[str(row[0] if row else "")] = "No email or phone to match on"
                    continue
                if add:
                    audience[person] = row
                else:
                    audience.pop(person, None)
        return json_response(
            {
                "audience_id": req.params["audience_id"],
                "session_id": str(uuid.uuid4().int)[:19],
                "num_received": len(data),
                "num_invalid_entries": len(invalid),
                "invalid_entry_samples": invalid,
            }
        )
