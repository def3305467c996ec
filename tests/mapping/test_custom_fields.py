"""A workspace extends a canonical entity: typed custom fields declared in the mapping, and the
source fields no mapping reads kept in a JSON column when asked (issue 19, point 8)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from hub.canonical import ENTITIES
from hub.errors import ConfigError
from hub.mapping import load_mapping

EXTENDED = """\
source: hubspot
stream: contacts
entity: contact
custom_fields:
  plan_name: {type: string, description: the subscription plan}
  seats: {type: integer}
keep_unmapped: extra
fields:
  source: {const: hubspot}
  source_id: {path: id}
  email: {path: properties.email, apply: [trim, lower]}
  plan_name: {path: properties.plan}
  seats: {path: properties.seats, apply: [to_int]}
  updated_at: {path: updatedAt, apply: [to_utc]}
"""

RECORD = {
    "id": "7",
    "updatedAt": "2026-01-01T00:00:00Z",
    "archived": False,
    "properties": {"email": "A@B.C", "plan": "Pro", "seats": "12", "favourite_colour": "teal"},
}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "contacts.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_custom_fields_are_typed_columns_and_the_rest_is_kept_as_json(tmp_path: Path) -> None:
    m = load_mapping(write(tmp_path, EXTENDED))
    assert m.columns() == {
        "source": "string",
        "source_id": "string",
        "email": "string",
        "updated_at": "datetime",
        "plan_name": "string",
        "seats": "integer",
        "extra": "json",
    }
    batch = m.map_batch([RECORD])
    assert not batch.dead, batch.dead
    row = batch.rows[0]
    assert (row["plan_name"], row["seats"]) == ("Pro", 12)
    # Every path a field read is gone from the JSON column; what no field read is there.
    assert row["extra"] == {"archived": False, "properties": {"favourite_colour": "teal"}}
    assert RECORD["properties"]["plan"] == "Pro", "the source record itself is not changed"
    assert "plan_name" not in ENTITIES["contact"].field_map(), "the shared entity stays closed"


def test_a_custom_field_value_of_the_wrong_type_is_a_dead_letter(tmp_path: Path) -> None:
    m = load_mapping(write(tmp_path, EXTENDED.replace("apply: [to_int]", "apply: []")))
    batch = m.map_batch([RECORD])
    assert batch.rows == []
    assert "field `seats` (from `properties.seats`): value '12' is not an integer" in batch.dead[0][1]


def test_without_keep_unmapped_nothing_extra_is_stored(tmp_path: Path) -> None:
    m = load_mapping(write(tmp_path, EXTENDED.replace("keep_unmapped: extra\n", "")))
    assert "extra" not in m.columns()
    assert "extra" not in m.map_batch([RECORD]).rows[0]


@pytest.mark.parametrize(
    ("old", "new", "line", "says"),
    [
        ("  seats: {type: integer}", "  email: {type: integer}", 6, "`email` is already a field of entity"),
        ("  seats: {type: integer}", "  seats: {type: money}", 6, "custom_fields.seats.type"),
        ("  seats: {type: integer}", "  Seats: {type: integer}", 6, "use lower case letters"),
        ("keep_unmapped: extra", "keep_unmapped: email", 7, "is already a field of entity"),
        (
            "  plan_name: {path: properties.plan}",
            "  plan: {path: properties.plan}",
            12,
            "declare it under `custom_fields:`",
        ),
    ],
)
def test_bad_custom_fields_are_refused_with_file_and_line(
    tmp_path: Path, old: str, new: str, line: int, says: str
) -> None:
    text = EXTENDED.replace(old, new)
    assert text != EXTENDED
    with pytest.raises(ConfigError) as exc:
        load_mapping(write(tmp_path, text))
    assert f"contacts.yaml:{line}" in str(exc.value), str(exc.value)
    assert says in str(exc.value)
