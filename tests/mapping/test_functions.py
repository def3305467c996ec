"""Every mapping function, as a table of input -> output (or the error it raises)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import phonenumbers
import pytest

from hub.mapping.functions import FUNCTIONS, to_e164

D = datetime(2024, 2, 1, 12, 30, 0, 123000, tzinfo=UTC)

CASES: list[tuple[str, dict[str, Any], Any, Any]] = [
    ("lower", {}, " Ann@X.COM ", " ann@x.com "),
    ("upper", {}, "abc", "ABC"),
    ("trim", {}, "  a b  ", "a b"),
    ("trim", {}, None, None),
    ("trim", {}, 42, 42),
    ("empty_to_null", {}, "   ", None),
    ("empty_to_null", {}, "x", "x"),
    ("to_utc", {}, "2024-02-01T12:30:00.123Z", D),
    ("to_utc", {}, "2024-02-01T14:30:00.123+02:00", D),
    ("to_utc", {}, "2024-02-01T12:30:00.123", D),  # naive means UTC
    ("to_utc", {}, 1706790600123, D),  # epoch ms
    ("to_utc", {}, "1706790600", D.replace(microsecond=0)),  # epoch s as text
    ("sha256", {}, "a@b.c", hashlib.sha256(b"a@b.c").hexdigest()),
    ("split", {"sep": ";"}, "a; b;;c", ["a", "b", "c"]),
    ("name_part", {"part": "first"}, "Mary Ann  Smith", "Mary Ann"),
    ("name_part", {"part": "last"}, "Mary Ann  Smith", "Smith"),
    ("name_part", {"part": "first"}, "Cher", "Cher"),
    ("name_part", {"part": "last"}, "Cher", None),
    ("name_part", {"part": "last"}, "   ", None),
    ("join", {"sep": "|"}, ["a", None, "b"], "a|b"),
    ("map", {"values": {"lead": "Lead"}, "default": "Other"}, "lead", "Lead"),
    ("map", {"values": {"lead": "Lead"}, "default": "Other"}, "x", "Other"),
    ("map", {"values": {"LEAD": "Lead"}, "ignore_case": True}, "lead", "Lead"),
    ("default", {"value": "n/a"}, "", "n/a"),
    ("default", {"value": "n/a"}, None, "n/a"),
    ("to_int", {}, "42", 42),
    ("to_int", {}, "42.0", 42),
    ("to_float", {}, "1.5", 1.5),
    ("to_bool", {}, "Yes", True),
    ("to_bool", {}, "0", False),
    ("to_string", {}, 7, "7"),
    ("domain", {}, "https://www.Example.com/about", "example.com"),
    ("domain", {}, "shop.example.org:8080", "shop.example.org"),
    ("e164", {"region": "US"}, "(415) 555 0100", "+14155550100"),
    ("e164", {"region": "US"}, "+1 415-555-0100", "+14155550100"),
    ("e164", {"region": "US"}, "1-415-555-0100", "+14155550100"),
    ("e164", {"region": "GB"}, "020 7946 0958", "+442079460958"),
    ("e164", {"region": "US"}, "", None),
]


@pytest.mark.parametrize(("name", "args", "value", "expected"), CASES)
def test_function(name: str, args: dict[str, Any], value: Any, expected: Any) -> None:
    assert FUNCTIONS[name](**args)(value) == expected


@pytest.mark.parametrize(
    ("name", "args", "value", "reason"),
    [
        ("to_utc", {}, "yesterday", "is not a datetime"),
        ("to_int", {}, "4.5", "not a whole number"),
        ("to_int", {}, "abc", "not an integer"),
        ("to_float", {}, "abc", "not a number"),
        ("to_bool", {}, "maybe", "not a boolean"),
        ("map", {"values": {"a": 1}}, "b", "not in the value map"),
        ("e164", {"region": "US"}, "call me", "not a phone number"),
        ("e164", {"region": "US"}, "12", "phone number"),
    ],
)
def test_function_errors_say_why(name: str, args: dict[str, Any], value: Any, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        FUNCTIONS[name](**args)(value)


@pytest.mark.parametrize(
    "raw",
    [
        "+1 415-555-0100",
        "(415) 555 0100",
        "4155550100",
        "1-415-555-0100",
        "415.555.0100",
        "+44 20 7946 0958",
        "+49 30 901820",
        "+61 2 9374 4000",
        "(212) 555-7890",
    ],
)
def test_e164_fast_path_agrees_with_phonenumbers(raw: str) -> None:
    expected = phonenumbers.format_number(phonenumbers.parse(raw, "US"), phonenumbers.PhoneNumberFormat.E164)
    assert to_e164(raw, "US") == expected


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("trim", {"x": 1}),
        ("e164", {"region": "USA"}),
        ("map", {"values": "a"}),
        ("name_part", {"part": "middle"}),
    ],
)
def test_bad_arguments_are_rejected_at_load(name: str, args: dict[str, Any]) -> None:
    with pytest.raises(TypeError):
        FUNCTIONS[name](**args)


def test_every_function_is_documented_in_docs_mappings() -> None:
    """docs/mappings.md lists each function a mapping may name (a new one without a line there fails)."""
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs" / "mappings.md").read_text()
    table = doc[doc.index("## Functions") : doc.index("## Filters")]
    missing = [name for name in FUNCTIONS if f"`{name}`" not in table and f"`{name}:" not in table]
    assert not missing, f"mapping functions missing from docs/mappings.md: {missing}"
