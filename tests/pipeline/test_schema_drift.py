"""Schema drift is reported, records are still delivered (unit, then through a real sync)."""

from __future__ import annotations

import pytest

from flows.sync import sync_connection
from hub.pipeline.drift import SchemaDrift

SCHEMA = {
    "type": "object",
    "additionalProperties": True,
    "required": ["id", "updated_at"],
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": ["string", "null"]},
        "score": {"type": "number"},
        "updated_at": {"type": "string"},
    },
}


def test_matching_records_report_nothing() -> None:
    drift = SchemaDrift(SCHEMA)
    drift.observe([{"id": i, "name": None, "score": 1, "updated_at": "x", "extra": 1} for i in range(200)])
    assert drift.report() is None  # integers are numbers; additional properties are allowed


def test_type_mismatch_missing_required_and_disallowed_fields_are_counted() -> None:
    drift = SchemaDrift({**SCHEMA, "additionalProperties": False})
    drift.observe([{"id": "7", "updated_at": "x"}, {"id": 8, "plan": "pro"}] * 3)
    report = drift.report()
    assert report is not None
    assert report["type_mismatches"] == {"id": {"declared": ["integer"], "seen": {"string": 1}}}
    assert report["missing_required"] == {"updated_at": 3}
    assert report["new_fields"] == {"plan": 3}


def test_nested_fields_are_checked() -> None:
    # An email sent as the number 12345 inside a nested object, a SKU as a number in an array.
    schema = {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "contact": {
                "type": ["object", "null"],
                "properties": {
                    "email": {"type": ["string", "null"]},
                    "address": {"type": "object", "properties": {"zip": {"type": "string"}}},
                },
            },
            "lines": {
                "type": "array",
                "items": {"type": "object", "properties": {"sku": {"type": "string"}}},
            },
        },
    }
    drift = SchemaDrift(schema)
    drift.observe(
        [
            {
                "id": 1,
                "contact": {"email": 12345, "address": {"zip": 75001}},
                "lines": [{"sku": "a"}, {"sku": 9}],
            },
            {"id": 2, "contact": None, "lines": []},
        ]
    )
    report = drift.report()
    assert report is not None
    assert report["type_mismatches"] == {
        "contact.address.zip": {"declared": ["string"], "seen": {"integer": 1}},
        "contact.email": {"declared": ["null", "string"], "seen": {"integer": 1}},
        "lines[].sku": {"declared": ["string"], "seen": {"integer": 1}},
    }
    ok = SchemaDrift(schema)
    ok.observe(
        [{"id": 1, "contact": {"email": "a@b.c", "address": {"zip": "75001"}}, "lines": [{"sku": "a"}]}]
    )
    assert ok.report() is None


def test_no_schema_no_check() -> None:
    drift = SchemaDrift(None)
    drift.observe([{"anything": 1}])
    assert drift.report() is None


@pytest.mark.usefixtures("prefect_server")
@pytest.mark.parametrize("hub", ["sqlite"], indirect=True)
def test_a_changed_api_is_reported_and_its_records_still_land(hub) -> None:  # type: ignore[no-untyped-def]
    zd = hub.sandbox.zendesk
    # The API starts sending a user id as a string on some records.
    changed = list(zd.objects("users"))[:5]
    for uid in changed:
        zd.objects("users")[uid]["organization_id"] = str(zd.objects("users")[uid]["organization_id"])
    run = sync_connection("support", workspace_dir=str(hub.ctx.workspace_dir)).to_dict()
    assert run["status"] == "succeeded", run
    drift = run["streams"]["users"]["schema_drift"]
    assert drift and drift["type_mismatches"]["organization_id"]["seen"]["string"] >= 1, drift
    assert run["streams"]["tickets"]["schema_drift"] is None
    landed = {r["source_id"] for r in hub.rows("support_users")}
    assert {str(uid) for uid in changed} <= landed
    entry = [
        e for e in hub.ctx.audit.entries() if e["action"] == "stream.end" and e["target"] == "support/users"
    ][-1]
    assert entry["details"]["schema_drift"]["type_mismatches"]
