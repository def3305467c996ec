"""The `dropped` fault: a write answered as done and not kept, on the products that can put
their data back; elsewhere the sandbox says it cannot (500), never a silent success."""

from __future__ import annotations

import httpx

from hub.sandbox import Sandbox
from hub.sandbox.facebook import API_VERSION, AUDIENCE_ID

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

        # Zendesk keeps its users apart from its jobs: the job still reports the user done.
        users = {"users": [{"email": "x@example.org", "name": "X"}]}
        zendesk = sb.zendesk.objects("users")
        count = len(zendesk)
        with sb.faults.planted("/api/v2/users/create_or_update_many.json", "dropped", times=1):
            answered = http.post("/api/v2/users/create_or_update_many.json", json=users)
        assert answered.status_code == 200 and "job_status" in answered.json()
        assert len(zendesk) == count and "x@example.org" in sb.zendesk.upserts  # done, not kept

        # Facebook's audiences cannot be put back: the sandbox refuses rather than pretend.
        path = f"/{API_VERSION}/{AUDIENCE_ID}/users?access_token=sandbox-token"
        people = {"payload": {"schema": ["EMAIL"], "data": [["a" * 64]]}}
        with sb.faults.planted(f"/{API_VERSION}/{AUDIENCE_ID}/users", "dropped", times=1):
            refused = http.post(path, json=people)
        assert refused.status_code == 500 and "cannot drop writes" in refused.text
        assert not sb.facebook.audiences[AUDIENCE_ID], "not carried out"
        assert http.post(path, json=people).status_code == 200
        assert sb.facebook.audiences[AUDIENCE_ID]  # what carrying it out would have left
