"""Mapping files: load errors with file:line, compiled output, dead letters, preview."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from hub.errors import ConfigError
from hub.mapping import load_mapping
from hub.mapping.preview import preview, render_preview

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"

GOOD = """\
source: shop
stream: people
entity: contact
filter:
  - {path: kind, equals: person}
fields:
  source: {const: shop}
  source_id: {path: id, apply: [to_string]}
  email: {coalesce: [emails.0.address, contact.email], apply: [trim, lower]}
  updated_at: {path: meta.updated, apply: [to_utc]}
  phone: {path: phone, apply: [{e164: {region: US}}], on_error: "null"}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "people.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_nested_paths_coalesce_constants_filters_and_types(tmp_path: Path) -> None:
    m = load_mapping(write(tmp_path, GOOD))
    assert (m.name, m.entity.name, m.key) == ("shop/people", "contact", ("source", "source_id"))
    assert list(m.columns()) == ["source", "source_id", "email", "phone", "updated_at"]
    batch = m.map_batch(
        [
            {
                "kind": "person",
                "id": 7,
                "emails": [{"address": " A@B.C "}],
                "phone": "bad",
                "meta": {"updated": "2024-01-01T00:00:00Z"},
            },
            {
                "kind": "person",
                "id": 8,
                "emails": [],
                "contact": {"email": "c@d.e"},
                "meta": {"updated": 1704067200000},
            },
            {"kind": "robot", "id": 9},
        ]
    )
    assert batch.filtered == 1 and batch.dead == []
    assert [(r["source_id"], r["email"], r["phone"]) for r in batch.rows] == [
        ("7", "a@b.c", None),
        ("8", "c@d.e", None),
    ]
    assert all(r["updated_at"].isoformat() == "2024-01-01T00:00:00+00:00" for r in batch.rows)


def test_the_hubspot_contact_mapping_matches_its_snapshot() -> None:
    m = load_mapping(ROOT / "mappings" / "hubspot" / "contacts.yaml")
    records = [
        json.loads(line)
        for line in (FIXTURES / "mapping" / "hubspot_contacts_in.jsonl").read_text().splitlines()
    ]
    batch = m.map_batch(records)
    got = [json.loads(json.dumps(r, default=str)) for r in batch.rows]
    snapshot = FIXTURES / "mapping" / "hubspot_contacts_out.jsonl"
    expected = [json.loads(line) for line in snapshot.read_text().splitlines()]
    assert got == expected
    assert batch.filtered == 1  # the archived contact
    assert [(r["id"], reason) for r, reason in batch.dead] == [
        # phone is personal data: the reason does not repeat the value
        (
            "104",
            "field `phone` (from `properties.phone`): its value (personal data, not shown) "
            "cannot be converted to the field's type",
        ),
        (
            "105",
            "field `updated_at` (from first of `updatedAt`, `properties.lastmodifieddate`): "
            "value 'not a date' is not a datetime (ISO-8601 or epoch)",
        ),
    ]


@pytest.mark.parametrize("mapping", ["contacts", "companies"])
def test_recorded_real_hubspot_records_map_without_dead_letters(mapping: str) -> None:
    m = load_mapping(ROOT / "mappings" / "hubspot" / f"{mapping}.yaml")
    records = json.loads((FIXTURES / "hubspot" / f"hubspot_{mapping}.json").read_text())["results"]
    batch = m.map_batch(records)
    assert batch.dead == [] and len(batch.rows) == len(records)
    assert batch.rows[0]["source_id"] == records[0]["id"]


@pytest.mark.parametrize(
    ("old", "new", "line", "needle"),
    [
        ("entity: contact", "entity: person", 3, "unknown entity `person`"),
        ("  email: {coalesce", "  e_mail: {coalesce", 9, "has no field `e_mail`"),
        ("apply: [trim, lower]", "apply: [trim, shout]", 9, "unknown function `shout`"),
        ("{e164: {region: US}}", "{e164: {area: US}}", 11, "function `e164`"),
        ("  source_id: {path: id, apply: [to_string]}\n", "", 6, "requires `source_id`"),
        ("  - {path: kind, equals: person}", "  - {path: kind, same_as: person}", 5, "unknown key"),
        ("  source: {const: shop}", "  source: {const: shop, path: x}", 7, "exactly one of"),
        ('on_error: "null"', "on_error: ignore", 11, "on_error"),
        ("stream: people", "stream: [people", 3, "while parsing a flow sequence at line 2"),
    ],
)
def test_broken_mappings_name_file_line_and_key(
    tmp_path: Path, old: str, new: str, line: int, needle: str
) -> None:
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new))
    with pytest.raises(ConfigError) as info:
        load_mapping(path)
    assert f"{path.resolve()}:{line}" in str(info.value)
    assert needle in str(info.value)


def test_version_is_a_content_hash(tmp_path: Path) -> None:
    first = load_mapping(write(tmp_path, GOOD)).version
    assert load_mapping(write(tmp_path, GOOD)).version == first
    assert load_mapping(write(tmp_path, GOOD + "description: changed\n")).version != first


def test_preview_shows_each_outcome(tmp_path: Path) -> None:
    m = load_mapping(write(tmp_path, GOOD))
    rows = preview(
        m,
        [
            {"kind": "person", "id": 1, "meta": {"updated": "2024-01-01T00:00:00Z"}},
            {"kind": "robot"},
            {"kind": "person", "id": 2, "meta": {"updated": "soon"}},
        ],
        sample=5,
    )
    assert [r.outcome for r in rows] == ["mapped", "filtered", "dead-letter"]
    text = render_preview(rows)
    assert "1 mapped, 1 filtered, 1 dead-letter" in text and "is not a datetime" in text
    assert json.loads(render_preview(rows, as_json=True))[0]["output"]["source_id"] == "1"


KEY = b"pseudonym key, 32 bytes long...."


def test_personal_data_is_pseudonymised_in_dead_letter_records() -> None:
    m = load_mapping(ROOT / "mappings" / "hubspot" / "contacts.yaml")
    record = {
        "id": "9",
        "properties": {"email": "ann@example.com", "phone": "call me", "firstname": "Ann", "city": "Oslo"},
        "updatedAt": "2024-01-01T00:00:00Z",
        "archived": False,
    }
    [(dead, reason)] = m.map_batch([record]).dead
    masked = m.mask_pii(dead, KEY)
    props = masked["properties"]
    assert props["email"].startswith("pii:") and props["firstname"].startswith("pii:")
    assert props["phone"].startswith("pii:") and props["city"] == "Oslo"
    assert record["properties"]["email"] == "ann@example.com"  # the original is untouched
    assert "call me" not in reason and "ann@example.com" not in str(masked)
    # the same person gives the same pseudonym; another key, another one (a guess cannot be checked)
    assert m.mask_pii(record, KEY)["properties"]["email"] == props["email"]
    assert m.mask_pii(record, b"k" * 32)["properties"]["email"] != props["email"]


def test_a_mapping_can_mark_or_unmark_personal_data(tmp_path: Path) -> None:
    text = GOOD.replace("apply: [trim, lower]}", "apply: [trim, lower], pii: false}")
    text = text.replace(
        "  source_id: {path: id, apply: [to_string]}",
        "  source_id: {path: id, apply: [to_string], pii: true}",
    )
    m = load_mapping(write(tmp_path, text))
    assert m.pii_paths == ("id", "phone")
