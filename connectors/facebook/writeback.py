"""Facebook Custom Audiences write-back: people added to (and removed from) an audience.

POST /{version}/{audience_id}/users adds people; DELETE on the same path
removes them. Each person is a row of SHA-256 hashes of normalised
identifiers (schema EMAIL, PHONE, FN, LN, COUNTRY): Facebook never receives a
plain address, and neither does the hub's store keep one. An audience is a
set, so a retried request cannot add anyone twice. Up to 10,000 people per
request; Facebook answers with counts, and samples of the rows it found
invalid, which are matched back to the records.

Config (FacebookConfig): base_url (default https://graph.facebook.com),
api_version (v19.0), audience_id, access_token, and WritebackConfig's retry settings.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from typing import Any

from pydantic import Field, SecretStr

from hub.errors import ConfigError, FatalError, RetriableError
from hub.writeback import (
    ApiResponse,
    Change,
    ErasureOutcome,
    ErasureSubject,
    Held,
    Outcome,
    WritebackBase,
    WritebackConfig,
)

SCHEMA = ["EMAIL", "PHONE", "FN", "LN", "COUNTRY"]
# Facebook reports throttling as HTTP 400 with these codes: worth retrying, not a bad record.
_THROTTLED = {4, 17, 32, 613, 80003}
_AUTH = {102, 190}


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest() if value else ""


def normalise(row: dict[str, Any]) -> list[str]:
    """Facebook's normalisation: trimmed lower case; phone digits with country code, no
    plus; names without punctuation; two-letter country code."""
    email = str(row.get("email") or "").strip().lower()
    phone = re.sub(r"\D", "", str(row.get("phone") or ""))
    first = re.sub(r"[^\w]", "", str(row.get("first_name") or "").strip().lower())
    last = re.sub(r"[^\w]", "", str(row.get("last_name") or "").strip().lower())
    country = str(row.get("country") or "").strip().lower()
    return [email, phone, first, last, country if len(country) == 2 else ""]


class FacebookConfig(WritebackConfig):
    audience_id: str = Field(description="the custom audience's id")
    access_token: SecretStr = Field(description="a token that may edit the audience")
    api_version: str = "v19.0"


class Writeback(WritebackBase):
    name = "facebook"
    Config = FacebookConfig
    config: FacebookConfig
    entity = "contact"
    batch_limit = 10_000  # people per request
    deletes = True

    def read_back(self) -> Iterator[Held]:
        """Refused, for good: the Marketing API never lists a custom audience's members (it
        matches hashes and answers only `approximate_count`), so a dropped add or remove
        cannot be found by reading the audience back."""
        raise ConfigError(
            "facebook write-back cannot read its records back: the Custom Audiences API does not "
            "list an audience's members (only an approximate count), so it cannot be reconciled; "
            "what Facebook accepted is in the run results (`crossdock results RUN`)"
        )

    def __init__(self, config: FacebookConfig | dict[str, Any]) -> None:
        super().__init__(config)
        self._token = self.config.access_token.get_secret_value()
        self.audience = f"/{self.config.api_version}/{self.config.audience_id}"
        self.path = f"{self.audience}/users"
        self.client = self.client_for("https://graph.facebook.com", product="Facebook")

    def check(self) -> str:
        resp = self.client.request(
            "GET", self.audience, params={"access_token": self._token, "fields": "id,name"}
        )
        _raise_for_error(resp)
        return f"the token reads the custom audience `{(resp.body or {}).get('name')}`"

    def prepare(self, row: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        values = normalise(row)
        if not (values[0] or values[1]):
            raise ValueError("no `email` or `phone`: Facebook matches people on at least one")
        hashed = [sha256(v) for v in values]
        return values[0] or values[1], {"row": hashed}

    def upsert(self, changes: Sequence[Change]) -> list[Outcome]:
        return self._send("POST", changes)

    def delete(self, changes: Sequence[Change]) -> list[Outcome]:
        # A delete knows only what the snapshot kept: the hashed row, as its remote id.
        rows = [
            Change(c.ref, c.key, {"row": (c.remote_id or "").split(":")}, "delete", c.remote_id)
            for c in changes
        ]
        return self._send("DELETE", rows)

    def _send(self, method: str, changes: Sequence[Change]) -> list[Outcome]:
        rows = [c.payload["row"] for c in changes]
        resp = self.client.request(
            method,
            self.path,
            params={"access_token": self._token},
            json={"payload": {"schema": SCHEMA, "data": rows}},
        )
        _raise_for_error(resp)
        body = resp.body or {}
        invalid = body.get("invalid_entry_samples") or {}
        outcomes = []
        for row in rows:
            reason = next((str(why) for sample, why in invalid.items() if sample in row), None)
            outcomes.append(Outcome(reason is None, reason, remote_id=":".join(row)))
        if body.get("num_invalid_entries", 0) > sum(1 for o in outcomes if not o.accepted):
            raise FatalError(
                f"Facebook found {body['num_invalid_entries']} invalid rows but "
                "named fewer; the batch cannot be told apart, nothing is assumed"
            )
        return outcomes

    def erase(self, subject: ErasureSubject) -> ErasureOutcome:
        """Audience removal (DELETE /{audience_id}/users) by the hashed schema: one EMAIL
        row per address, one PHONE row per number. Facebook does not say whether the
        person was in the audience, only that it took the rows: `requested`."""
        phones = [re.sub(r"\D", "", p) for p in subject.phones]
        received = 0
        for schema, values in (("EMAIL", subject.emails), ("PHONE", [p for p in phones if p])):
            if not values:
                continue
            resp = self.client.request(
                "DELETE",
                self.path,
                params={"access_token": self._token},
                json={"payload": {"schema": [schema], "data": [[sha256(v)] for v in values]}},
            )
            _raise_for_error(resp)
            received += int((resp.body or {}).get("num_received") or 0)
        return ErasureOutcome(
            "requested", f"Facebook audience {self.config.audience_id}: {received} hashed rows removed"
        )


def _raise_for_error(resp: ApiResponse) -> None:
    """Graph's error object as our error: throttling retriable, the rest fatal."""
    if resp.status == 200:
        return
    error = (resp.body or {}).get("error") or {}
    code = error.get("code")
    message = f"Facebook {error.get('type')} {code}: {error.get('message')}"
    if code in _THROTTLED:
        raise RetriableError(f"{message}; retry the run later")
    if code in _AUTH:
        raise FatalError(f"{message}; check `access_token` in the destination config")
    raise FatalError(f"{message} (HTTP {resp.status})")
