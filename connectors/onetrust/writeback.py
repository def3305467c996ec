"""OneTrust consent write-back: consent and withdrawals recorded as consent receipts.

POST /request/v1/consentreceipts records one transaction for a data subject
(`identifier`, an email) on the purposes named; the collection point's token
(`requestInformation`) authorises it. A canonical consent row (email, purpose,
event granted | withdrawn, occurred_at) becomes one receipt with one purpose:
CONFIRMED or WITHDRAWN. Purpose names map to OneTrust purpose ids through
`purposes` in the config. One receipt per call.

OneTrust keeps receipts as a log and takes no idempotency key, so a blind retry
after a lost response would log the transaction twice. The connector therefore
needs `access_token` (an OAuth token that may read data subjects): after a
failure that may have landed, it reads the subject's purpose back (GET
/api/consentmanager/v1/datasubjects/profiles) and sends again only if the
decision is not there yet.

Config: base_url (default https://privacyportal.onetrust.com), collection_point_token,
purposes (name -> purpose id), access_token, api_url (the tenant's host for the
read-back, default https://app.onetrust.com, or base_url when that is set),
and WritebackConfig's retry settings (OneTrustConfig below).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import Field, SecretStr, field_validator

from hub.errors import FatalError
from hub.writeback import (
    ApiClient,
    ApiResponse,
    Change,
    ErasureOutcome,
    ErasureSubject,
    Held,
    Outcome,
    WritebackBase,
    WritebackConfig,
)

_TRANSACTION = {"granted": "CONFIRMED", "withdrawn": "WITHDRAWN"}
_STATUS_AFTER = {"CONFIRMED": "ACTIVE", "WITHDRAWN": "WITHDRAWN"}  # a purpose's status after it
_TRANSACTION_OF = {status: transaction for transaction, status in _STATUS_AFTER.items()}
_PAGE = 2000  # data subjects a page, OneTrust's most
_PROFILES = "/api/consentmanager/v1/datasubjects/profiles"
_SUBJECTS = "/api/consentmanager/v2/datasubjects"  # DELETE: right to be forgotten


class OneTrustConfig(WritebackConfig):
    collection_point_token: SecretStr = Field(description="the collection point's JWT")
    purposes: dict[str, str] = Field(description="purpose name -> OneTrust purpose id")
    access_token: SecretStr = Field(
        description="an OAuth token that may read data subjects: OneTrust takes no idempotency "
        "key, so before a retry the connector reads back whether the receipt landed"
    )
    api_url: str | None = Field(default=None, description="the tenant's host for the read-back")

    @field_validator("purposes")
    @classmethod
    def _some(cls, purposes: dict[str, str]) -> dict[str, str]:
        if not purposes:
            raise ValueError("onetrust write-back needs `purposes`: purpose name -> OneTrust purpose id")
        return purposes


class Writeback(WritebackBase):
    name = "onetrust"
    Config = OneTrustConfig
    config: OneTrustConfig
    entity = "consent"
    batch_limit = 50  # rows per call from the hub; each is its own receipt request

    def __init__(self, config: OneTrustConfig | dict[str, Any]) -> None:
        super().__init__(config)
        self._token = self.config.collection_point_token.get_secret_value()
        self.purposes = self.config.purposes
        self.client = self.client_for("https://privacyportal.onetrust.com", product="OneTrust")
        api_url = self.config.api_url or self.config.base_url or "https://app.onetrust.com"
        self.reader = self.client_for(
            api_url,
            base_url=api_url,
            product="OneTrust",
            headers={"Authorization": f"Bearer {self.config.access_token.get_secret_value()}"},
        )

    def check(self) -> str:
        resp = self.reader.request("GET", _PROFILES, params={"size": 1, "properties": "ignoreCount"})
        if resp.status != 200:
            raise FatalError(f"OneTrust answered HTTP {resp.status} to a data subject read: {resp.body}")
        return (
            "`access_token` reads OneTrust data subjects (the collection point token is "
            "checked by the first receipt: OneTrust has no read for it)"
        )

    def prepare(self, row: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        email = (row.get("email") or "").strip().lower()
        if not email:
            raise ValueError("no `email`: OneTrust data subjects are identified by email here")
        purpose = self.purposes.get(str(row.get("purpose")))
        if purpose is None:
            raise ValueError(
                f"purpose `{row.get('purpose')}` has no OneTrust id in `purposes` "
                f"(known: {', '.join(sorted(self.purposes))})"
            )
        transaction = _TRANSACTION.get(str(row.get("event")))
        if transaction is None:
            raise ValueError(f"event `{row.get('event')}` is neither granted nor withdrawn")
        when: Any = row.get("occurred_at")  # a datetime from the store, or already a string
        payload = {
            "identifier": email,
            "identifierType": "Email",
            "purposes": [{"Id": purpose, "TransactionType": transaction}],
            "interactionDate": when.isoformat() if hasattr(when, "isoformat") else when,
        }
        return f"{email}|{purpose}", payload

    def upsert(self, changes: Sequence[Change]) -> list[Outcome]:
        outcomes = []
        for c in changes:
            resp = self.client.request(
                "POST",
                "/request/v1/consentreceipts",
                json={**c.payload, "requestInformation": self._token},
                settled=_read_back(self.reader, c.payload),
            )
            body = resp.body or {}
            if resp.status in (200, 201):
                receipt = body.get("receipt")  # None when the read-back found it had landed
                outcomes.append(Outcome(True, remote_id=str(receipt) if receipt else None))
            elif resp.status == 400:
                outcomes.append(Outcome(False, str(body.get("message") or body)))
            else:
                raise FatalError(
                    f"OneTrust consentreceipts answered HTTP {resp.status}: {body.get('message') or body}"
                )
        return outcomes

    def read_back(self) -> Iterator[Held]:
        """Each data subject's decision on each purpose the config names, as the receipt that
        led to it (`prepare`'s form; its date is OneTrust's `LastTransactionDate`): GET
        /api/consentmanager/v1/datasubjects/profiles, 2,000 subjects a page. A purpose in
        another status (PENDING, EXPIRED) matches no receipt the hub sends: left out."""
        wanted, page = set(self.purposes.values()), 0
        while True:
            params = {"page": page, "size": _PAGE, "properties": "ignoreCount"}
            resp = self.reader.request("GET", _PROFILES, params=params)
            if resp.status != 200 or not isinstance(resp.body, dict):
                raise FatalError(f"OneTrust answered HTTP {resp.status} to a data subject read: {resp.body}")
            for subject in resp.body.get("content") or []:
                email = str(subject.get("Identifier") or "").strip().lower()
                for p in subject.get("Purposes") or []:
                    transaction = _TRANSACTION_OF.get(p.get("Status"))
                    if email and transaction and p.get("Id") in wanted:
                        payload = {
                            "identifier": email,
                            "identifierType": "Email",
                            "purposes": [{"Id": p["Id"], "TransactionType": transaction}],
                            "interactionDate": p.get("LastTransactionDate"),
                        }
                        yield Held(f"{email}|{p['Id']}", None, payload)
            if resp.body.get("last", True):
                return
            page += 1

    def comparable(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The date as an instant to the second: the hub sends the row's own ISO form, OneTrust
        keeps milliseconds without a zone (UTC)."""
        when = _instant(payload.get("interactionDate"))
        return {**payload, "interactionDate": when.isoformat() if when else None}

    def erase(self, subject: ErasureSubject) -> ErasureOutcome:
        """Delete Data Subjects (DELETE /api/consentmanager/v2/datasubjects, up to 999
        identifiers a call) with their receipts and transactions. OneTrust deletes
        asynchronously, so the answer is `requested`, with the count it reports if any."""
        if not subject.emails:
            return ErasureOutcome("not_found", "OneTrust: no email to name the data subject by")
        resp = self.reader.request(
            "DELETE", _SUBJECTS, json={"identifiers": list(subject.emails[:999]), "retainReceipts": False}
        )
        if resp.status == 404:
            return ErasureOutcome("not_found", "OneTrust: no such data subject")
        if resp.status not in (200, 202, 204):
            raise FatalError(f"OneTrust data subject deletion answered HTTP {resp.status}: {resp.body}")
        count = (resp.body or {}).get("count") if isinstance(resp.body, dict) else None
        return ErasureOutcome(
            "requested",
            f"OneTrust data subjects: deletion requested ({count if count is not None else '?'} matched)",
            int(count or 0),
        )


def _read_back(reader: ApiClient, payload: dict[str, Any]) -> Callable[[], ApiResponse | None]:
    """A check for `settled`: does OneTrust already hold this decision, or a later one?"""
    purpose = payload["purposes"][0]
    want = _STATUS_AFTER[purpose["TransactionType"]]
    since = _instant(payload.get("interactionDate"))

    def settled() -> ApiResponse | None:
        resp = reader.request(
            "GET",
            _PROFILES,
            params={"purposeGuid": purpose["Id"], "properties": "ignoreCount"},
            headers={"identifier": payload["identifier"]},
        )
        if resp.status != 200:
            raise FatalError(f"OneTrust data subject read-back answered HTTP {resp.status}: {resp.body}")
        for subject in (resp.body or {}).get("content") or []:
            for p in subject.get("Purposes") or []:
                last = _instant(p.get("LastTransactionDate"))
                if (
                    p.get("Id") == purpose["Id"]
                    and p.get("Status") == want
                    and (since is None or (last is not None and last >= since))
                ):
                    return ApiResponse(200, {"receipt": None, "read_back": True})
        return None

    return settled


def _instant(value: Any) -> datetime | None:
    """An ISO date as UTC, to the second (OneTrust's dates carry no zone: UTC)."""
    if not value:
        return None
    dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    dt = dt if dt.tzinfo else dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).replace(microsecond=0)
