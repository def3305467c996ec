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

from collections.abc import Sequence
from typing import Any

from hub.errors import ConfigError, FatalError
from hub.writeback import ApiClient, BatchRefused, Change, Outcome

_OBJECTS: dict[str, dict[str, Any]] = {
    "contacts": {
        "entity": "contact", "key": "email", "id_property": "email",
        "properties": {"email": "email", "first_name": "firstname", "last_name": "lastname",
                       "phone": "phone", "city": "city", "country": "country",
                       "lifecycle_stage": "lifecyclestage"},
    },
    "companies": {
        "entity": "account", "key": "domain", "id_property": "domain",
        "properties": {"name": "name", "domain": "domain", "industry": "industry",
                       "phone": "phone", "city": "city", "country": "country"},
    },
}


class Writeback:
    batch_limit = 100  # HubSpot's batch endpoints take at most 100 inputs
    deletes = False

    def __init__(self, config: dict[str, Any]) -> None:
        obj = config.get("object", "contacts")
        if obj not in _OBJECTS:
            raise ConfigError(f"hubspot write-back `object` must be one of "
                              f"{', '.join(_OBJECTS)}, not `{obj}`", key="destination.config.object")
        if not config.get("access_token"):
            raise ConfigError("hubspot write-back needs `access_token` (a private-app token)",
                              key="destination.config.access_token")
        self._token = str(config["access_token"])
        spec = _OBJECTS[obj]
        self.object, self.entity = obj, spec["entity"]
        # HubSpot upserts only by a property whose values are unique: email for contacts;
        # for companies, a custom unique property holding the domain (`id_property`).
        self.key_field = spec["key"]
        self.id_property = config.get("id_property") or spec["id_property"]
        self.properties = {**spec["properties"], **(config.get("properties") or {})}
        self.client = ApiClient.from_config(
            config, "https://api.hubapi.com", product="HubSpot",
            headers={"Authorization": f"Bearer {config['access_token']}"})

    def secret_values(self) -> list[str]:
        return [self._token]

    def check(self) -> str:
        resp = self.client.request("GET", f"/crm/v3/objects/{self.object}", params={"limit": 1})
        if resp.status != 200:
            raise FatalError(f"HubSpot answered HTTP {resp.status} to a read of {self.object}: "
                             f"{(resp.body or {}).get('message') or resp.body}")
        return f"the token reads HubSpot {self.object} (write scope is proven by the first run)"

    def prepare(self, row: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        key = row.get(self.key_field)
        if not key:
            raise ValueError(f"no `{self.key_field}`: HubSpot {self.object} are matched by "
                             f"{self.id_property}")
        # A missing value means unknown, not "clear it in HubSpot": it is left out.
        props = {prop: _text(row[field]) for field, prop in self.properties.items()
                 if row.get(field) is not None}
        return str(key), props

    def upsert(self, changes: Sequence[Change]) -> list[Outcome]:
        inputs = [{"idProperty": self.id_property, "id": c.key, "properties": c.payload,
                   "objectWriteTraceId": str(i)} for i, c in enumerate(changes)]
        resp = self.client.request("POST", f"/crm/v3/objects/{self.object}/batch/upsert",
                                   json={"inputs": inputs})
        body = resp.body or {}
        if resp.status == 400:
            if body.get("category") == "VALIDATION_ERROR" and "PROPERTY_DOESNT_EXIST" in str(body):
                raise FatalError(f"HubSpot: {body.get('message')}; fix `properties` in the "
                                 "destination config or create the property in HubSpot")
            raise BatchRefused(str(body.get("message") or body))
        if resp.status not in (200, 201, 207):
            raise FatalError(f"HubSpot batch upsert answered HTTP {resp.status}: {body}")
        return self._outcomes(changes, body)

    def _outcomes(self, changes: Sequence[Change], body: dict[str, Any]) -> list[Outcome]:
        done: dict[str, str] = {}
        for result in body.get("results") or []:
            trace = result.get("objectWriteTraceId")
            if trace is None:  # older responses do not echo the trace id: match on the key
                value = str((result.get("properties") or {}).get(self.id_property, "")).lower()
                trace = next((str(i) for i, c in enumerate(changes) if c.key.lower() == value),
                             None)
            if trace is not None:
                done[str(trace)] = str(result.get("id"))
        failed: dict[str, str] = {}
        for error in body.get("errors") or []:
            for trace in (error.get("context") or {}).get("objectWriteTraceId") or []:
                failed[str(trace)] = str(error.get("message") or error.get("category"))
        outcomes = []
        for i, _ in enumerate(changes):
            if str(i) in done:
                outcomes.append(Outcome(True, remote_id=done[str(i)]))
            else:
                outcomes.append(Outcome(False, failed.get(
                    str(i), "HubSpot returned neither a result nor an error for this input")))
        return outcomes

    def delete(self, changes: Sequence[Change]) -> list[Outcome]:
        raise NotImplementedError("HubSpot write-back never deletes")

    def close(self) -> None:
        self.client.close()


def _text(value: Any) -> str:
    """HubSpot property values are strings; booleans are "true"/"false"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
