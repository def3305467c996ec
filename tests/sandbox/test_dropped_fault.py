"""The `dropped` fault: a write answered as done and not kept, on the products that can put
their data back; elsewhere the sandbox says it cannot (500), never a silent success."""

from __future__ import annotations

import httpx

from hub.sandbox import Sandbox

AUTH = {"Authorization": "Bearer sandbox-token"}


def test_a_dropped_upsert_is_answered_and_not_kept_and_other_products_refuse() -> None:
    with Sandbox(seed=3, scale=10, port=0) as sb, httpx.Client(base_url=sb.url, headers=AUTH) as http:
        contacts = sb.hubspot.objects("contacts")
        before = {oid: dict(o["properties"]) for oid, o in contacts.items()}
        body = {"inputs": [{"idProperty": "email", "id": "new@example.org", "properties": {"city": "Oslo"}}]}
        with sb.faults.planted("/crm/v3/objects/contacts/batch/upsert", "dropped", times=1):
            answered = http.post("/crm/v3/objects/contacts/batch/upsert", json=body)
        assert answered.status_code == 200 and answered.json()["results"][0]["properties"]["city"] == "Oslo"
        assert {oid: o["properties"] for oid, o in contacts.items()} == before  # nothing kept

        kept = http.post("/crm/v3/objects/contacts/batch/upsert", json=body)  # no fault: kept
        assert kept.status_code == 200 and len(contacts) == len(before) + 1

        users = {"users": [{"email": "x@example.org", "name": "X"}]}
        with sb.faults.planted("/api/v2/users/create_or_update_many.json", "dropped", times=1):
            refused = http.post("/api/v2/users/create_or_update_many.json", json=users)
        assert refused.status_code == 500 and "cannot drop writes" in refused.text
        assert "x@example.org" not in sb.zendesk.upserts, "not carried out"
        assert http.post("/api/v2/users/create_or_update_many.json", json=users).status_code == 200
        assert "x@example.org" in sb.zendesk.upserts  # what carrying it out would have left
