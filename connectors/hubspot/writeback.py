"""HubSpot CRM write-back: batch upsert of contacts (by email) or companies (by domain).

POST /crm/v3/objects/{object}/batch/upsert takes up to 100 inputs, each naming
its record by a unique property (`idProperty`), so a retried batch updates the
same records instead of creating new ones. HubSpot answers 200 (all done),
207 (some inputs failed: `errors[].context.objectWriteTraceId` names them) or
400 for the whole batch (one invalid value fails all 100); the hub splits a
400 batch until it finds the record at fault. Nothing is ever deleted.

Config: base_url, access_token, object (contacts | companies), id_property (the
unique property to match on; default email, or domain for companies, which in a
real portal must be a custom unique property), properties (canonical field ->
HubSpot property, added to or overriding the defaults), max_attempts,
backoff_factor.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator

from hub.errors import FatalError
from hub.writeback import (
    BatchRefused,
    Change,
    ErasureOutcome,
    ErasureSubject,
    Held,
    Outcome,
    WritebackBase,
    WritebackConfig,
    tally,
)

_OBJECTS: dict[str, dict[str, Any]] = {
    "contacts": {
        "entity": "contact",
        "key": "email",
        "id_property": "email",
        "properties": {
            "email": "email",
            "first_name": "firstname",
            "last_name": "lastname",
            "phone": "phone",
            "city": "city",
            "country": "country",
            "lifecycle_stage": "lifecyclestage",
        },
    },
    "companies": {
        "entity": "account",
        "key": "domain",
        "id_property": "domain",
        "properties": {
            "name": "name",
            "domain": "domain",
            "industry": "industry",
            "phone": "phone",
            "city": "city",
            "country": "country",
        },
    },
}


class HubSpotConfig(WritebackConfig):
    access_token: SecretStr = Field(description="a private-app token")
    object: Literal["contacts", "companies"] = "contacts"
    id_property: str | None = Field(default=None, description="the unique property to match on")
    properties: dict[str, str] = Field(
        default_factory=dict, description="canonical field -> HubSpot property"
    )
    entity: Literal["contact", "offer"] = Field(
        default="contact",
        description="the canonical rows sent to contacts: `contact`, or `offer` (a person's offer, "
        "by email; map its fields with `properties`, e.g. sku -> a custom property)",
    )
    consent_property: str | None = Field(
        default=None,
        description="a (custom) property set to `withdrawn` when the person withdraws consent "
        "(hub/governance); none: a withdrawn person is held back, not flagged",
    )

    @model_validator(mode="after")
    def _offers_to_contacts(self) -> HubSpotConfig:
        if self.entity == "offer" and self.object != "contacts":
            raise ValueError("`entity: offer` is sent to contacts (its person's record): `object: contacts`")
        return self


class Writeback(WritebackBase):
    name = "hubspot"
    Config = HubSpotConfig
    config: HubSpotConfig
    batch_limit = 100  # HubSpot's batch endpoints take at most 100 inputs

    def __init__(self, config: HubSpotConfig | dict[str, Any]) -> None:
        super().__init__(config)
        spec = _OBJECTS[self.config.object]
        if self.config.entity == "offer":  # an offer lands on its person's contact record
            spec = {**spec, "entity": "offer", "properties": {"email": "email"}}
        self.object, self.entity = self.config.object, spec["entity"]
        # HubSpot upserts only by a property whose values are unique: email for contacts;
        # for companies, a custom unique property holding the domain (`id_property`).
        self.key_field = spec["key"]
        self.id_property = self.config.id_property or spec["id_property"]
        self.properties = {**spec["properties"], **self.config.properties}
        self.client = self.client_for(
            "https://api.hubapi.com",
            product="HubSpot",
            headers={"Authorization": f"Bearer {self.config.access_token.get_secret_value()}"},
        )

    def check(self) -> str:
        resp = self.client.request("GET", f"/crm/v3/objects/{self.object}", params={"limit": 1})
        if resp.status != 200:
            raise FatalError(
                f"HubSpot answered HTTP {resp.status} to a read of {self.object}: "
                f"{(resp.body or {}).get('message') or resp.body}"
            )
        return f"the token reads HubSpot {self.object} (write scope is proven by the first run)"

    def prepare(self, row: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        key = row.get(self.key_field)
        if not key:
            raise ValueError(
                f"no `{self.key_field}`: HubSpot {self.object} are matched by {self.id_property}"
            )
        # A missing value means unknown, not "clear it in HubSpot": it is left out.
        props = {
            prop: _text(row[field]) for field, prop in self.properties.items() if row.get(field) is not None
        }
        return str(key), props

    def withdrawal(self, key: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        """HubSpot has no list to leave: the record is flagged through `consent_property`."""
        prop = self.config.consent_property
        return {**payload, prop: "withdrawn"} if prop else None

    def upsert(self, changes: Sequence[Change]) -> list[Outcome]:
        inputs = [
            {
                "idProperty": self.id_property,
                "id": c.key,
                "properties": c.payload,
                "objectWriteTraceId": str(i),
            }
            for i, c in enumerate(changes)
        ]
        resp = self.client.request(
            "POST", f"/crm/v3/objects/{self.object}/batch/upsert", json={"inputs": inputs}
        )
        body = resp.body or {}
        if resp.status == 400:
            if body.get("category") == "VALIDATION_ERROR" and "PROPERTY_DOESNT_EXIST" in str(body):
                raise FatalError(
                    f"HubSpot: {body.get('message')}; fix `properties` in the "
                    "destination config or create the property in HubSpot"
                )
            raise BatchRefused(str(body.get("message") or body))
        if resp.status not in (200, 201, 207):
            raise FatalError(f"HubSpot batch upsert answered HTTP {resp.status}: {body}")
        return self._outcomes(changes, body)

    def _outcomes(self, changes: Sequence[Change], body: dict[str, Any]) -> list[Outcome]:
        done: dict[str, str] = {}
        existed: dict[str, bool] = {}  # HubSpot's `new`: false when the email matched a contact
        for result in body.get("results") or []:
            trace = result.get("objectWriteTraceId")
            if trace is None:  # older responses do not echo the trace id: match on the key
                value = str((result.get("properties") or {}).get(self.id_property, "")).lower()
                trace = next((str(i) for i, c in enumerate(changes) if c.key.lower() == value), None)
            if trace is not None:
                done[str(trace)] = str(result.get("id"))
                if isinstance(result.get("new"), bool):
                    existed[str(trace)] = not result["new"]
        failed: dict[str, str] = {}
        for error in body.get("errors") or []:
            for trace in (error.get("context") or {}).get("objectWriteTraceId") or []:
                failed[str(trace)] = str(error.get("message") or error.get("category"))
        outcomes = []
        for i, _ in enumerate(changes):
            if str(i) in done:
                outcomes.append(Outcome(True, remote_id=done[str(i)], existed=existed.get(str(i))))
            else:
                outcomes.append(
                    Outcome(
                        False,
                        failed.get(str(i), "HubSpot returned neither a result nor an error for this input"),
                    )
                )
        return outcomes

    def erase(self, subject: ErasureSubject) -> ErasureOutcome:
        """GDPR delete (POST /crm/v3/objects/contacts/gdpr-delete): the contact and its
        history go for good, and HubSpot blocks the address from being recreated. By email,
        then by each contact id the hub knows; 404 is a contact that is not there."""
        asked = [{"objectId": e, "idProperty": "email"} for e in subject.emails]
        asked += [{"objectId": i} for i in subject.ids_in("hubspot")]
        deleted = missing = 0
        for body in asked:
            resp = self.client.request("POST", "/crm/v3/objects/contacts/gdpr-delete", json=body)
            if resp.status in (200, 204):
                deleted += 1
            elif resp.status == 404:
                missing += 1
            else:
                raise FatalError(
                    f"HubSpot gdpr-delete answered HTTP {resp.status}: {(resp.body or {}).get('message')}"
                )
        return tally("HubSpot contacts (GDPR delete)", deleted, missing)

    def read_back(self) -> Iterator[Held]:
        """Every record of the object with the properties the hub writes, 100 a page."""
        wanted = sorted({*self.properties.values(), self.id_property})
        after: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 100, "properties": ",".join(wanted)}
            if after:
                params["after"] = after
            resp = self.client.request("GET", f"/crm/v3/objects/{self.object}", params=params)
            if resp.status != 200:
                raise FatalError(
                    f"HubSpot answered HTTP {resp.status} to a read of {self.object}: {resp.body}"
                )
            body = resp.body or {}
            for result in body.get("results") or []:
                props = result.get("properties") or {}
                key = str(props.get(self.id_property) or "").strip().lower()
                if key:
                    payload = {
                        p: props[p] for p in self.properties.values() if props.get(p) not in (None, "")
                    }
                    yield Held(key, str(result.get("id")), payload)
            after = ((body.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return


def _text(value: Any) -> str:
    """HubSpot property values are strings; booleans are "true"/"false"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
