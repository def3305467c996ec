"""OneTrust consent write-back: consent and withdrawals recorded as consent receipts.

POST /request/v1/consentreceipts records one transaction for a data subject
(`identifier`, an email) on the purposes named; the collection point's token
(`requestInformation`) authorises it. A canonical consent row (email, purpose,
event granted | withdrawn, occurred_at) becomes one receipt with one purpose:
CONFIRMED or WITHDRAWN. Purpose names map to OneTrust purpose ids through
`purposes` in the config. One receipt per call; OneTrust keeps receipts as a
log, so a retry after a lost response can log the same transaction twice,
while the subject's consent state stays right (the last transaction wins).

Config: base_url (default https://privacyportal.onetrust.com), collection_point_token,
purposes (name -> purpose id), max_attempts, backoff_factor.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hub.errors import ConfigError, FatalError
from hub.writeback import ApiClient, Change, Outcome

_TRANSACTION = {"granted": "CONFIRMED", "withdrawn": "WITHDRAWN"}


class Writeback:
    entity = "consent"
    batch_limit = 50  # rows per call from the hub; each is its own receipt request
    deletes = False

    def __init__(self, config: dict[str, Any]) -> None:
        if not config.get("collection_point_token"):
            raise ConfigError("onetrust write-back needs `collection_point_token` (the collection "
                              "point's JWT)", key="destination.config.collection_point_token")
        purposes = config.get("purposes")
        if not isinstance(purposes, dict) or not purposes:
            raise ConfigError("onetrust write-back needs `purposes`: purpose name -> OneTrust "
                              "purpose id", key="destination.config.purposes")
        self._token = str(config["collection_point_token"])
        self.purposes = {str(k): str(v) for k, v in purposes.items()}
        self.client = ApiClient.from_config(config, "https://privacyportal.onetrust.com",
                                            product="OneTrust")

    def secret_values(self) -> list[str]:
        return [self._token]

    def prepare(self, row: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        email = (row.get("email") or "").strip().lower()
        if not email:
            raise ValueError("no `email`: OneTrust data subjects are identified by email here")
        purpose = self.purposes.get(str(row.get("purpose")))
        if purpose is None:
            raise ValueError(f"purpose `{row.get('purpose')}` has no OneTrust id in `purposes` "
                             f"(known: {', '.join(sorted(self.purposes))})")
        transaction = _TRANSACTION.get(str(row.get("event")))
        if transaction is None:
            raise ValueError(f"event `{row.get('event')}` is neither granted nor withdrawn")
        when = row.get("occurred_at")
        payload = {"identifier": email, "identifierType": "Email",
                   "purposes": [{"Id": purpose, "TransactionType": transaction}],
                   "interactionDate": when.isoformat() if hasattr(when, "isoformat") else when}
        return f"{email}|{purpose}", payload

    def upsert(self, changes: Sequence[Change]) -> list[Outcome]:
        outcomes = []
        for c in changes:
            resp = self.client.request("POST", "/request/v1/consentreceipts",
                                       json={**c.payload, "requestInformation": self._token})
            body = resp.body or {}
            if resp.status in (200, 201):
                outcomes.append(Outcome(True, remote_id=str(body.get("receipt"))))
            elif resp.status == 400:
                outcomes.append(Outcome(False, str(body.get("message") or body)))
            else:
                raise FatalError(f"OneTrust consentreceipts answered HTTP {resp.status}: "
                                 f"{body.get('message') or body}")
        return outcomes

    def delete(self, changes: Sequence[Change]) -> list[Outcome]:
        raise NotImplementedError("a consent is withdrawn by a `withdrawn` row, not deleted")

    def close(self) -> None:
        self.client.close()
