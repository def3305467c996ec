"""Identifier normalisation: each spelling of one address or number becomes one value."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.identity.normalize import is_blocked, normalize_email, normalize_phone


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Jane.Doe@Example.com", "jane.doe@example.com"),
        ("  jane@example.com ", "jane@example.com"),
        ("jane+newsletter@example.com", "jane@example.com"),
        ("J.A.N.E@gmail.com", "jane@gmail.com"),  # Gmail ignores dots
        ("jane.doe+x@googlemail.com", "janedoe@gmail.com"),  # one mailbox, two domains
        ("jane.doe@outlook.com", "jane.doe@outlook.com"),  # dots matter elsewhere
        ("not-an-email", None),
        ("@example.com", None),
        ("+tag@example.com", None),
        (None, None),
        ("a b@example.com", None),
        (42, None),
    ],
)
def test_email(raw: object, expected: str | None) -> None:
    assert normalize_email(raw) == expected


@pytest.mark.parametrize(
    "raw, region, expected",
    [
        ("+14155552671", "US", "+14155552671"),
        ("(415) 555-2671", "US", "+14155552671"),
        ("415.555.2671", "US", "+14155552671"),
        ("+1 415 555 2671", "US", "+14155552671"),
        ("07700 900123", "GB", "+447700900123"),
        ("+44 (7700) 900-123", "GB", "+447700900123"),
        ("030 1234567", "DE", "+49301234567"),
        ("000-000-0000", "US", None),  # a placeholder, not a number
        ("12", "US", None),
        ("", "US", None),
        (None, "US", None),
    ],
)
def test_phone(raw: object, region: str, expected: str | None) -> None:
    assert normalize_phone(raw, region) == expected


def test_blocked_patterns_match_whole_values_only() -> None:
    patterns = ("info@*", "+10000000000")
    assert is_blocked("info@acme.com", patterns)
    assert is_blocked("+10000000000", patterns)
    assert not is_blocked("jinfo@acme.com", patterns)
    assert not is_blocked("info.desk@acme.com", patterns)
    assert not is_blocked("anything", ())


def spellings(digits: str) -> list[object]:
    """Ways people write one ten-digit NANP number."""
    a, b, c = digits[:3], digits[3:6], digits[6:]
    return [
        digits,
        f"({a}) {b}-{c}",
        f"{a}.{b}.{c}",
        f"{a}-{b}-{c}",
        f"+1 {a} {b} {c}",
        f"+1{digits}",
        f"1{digits}",
        f"1-{a}-{b}-{c}",
        f" +1 ({a}) {b}-{c} ",
        int("1" + digits),
    ]


@pytest.mark.parametrize(
    "digits, expected",
    [
        ("4155552671", "+14155552671"),  # valid and allocated
        ("9999999999", "+19999999999"),  # area code 999 is not allocated, but the number is possible
        ("2125550000", "+12125550000"),  # a 555 fiction number: possible
        ("0000000000", None),  # no area code starts with 0
        ("1234567890", None),  # ... or with 1
    ],
)
def test_every_spelling_of_a_number_gets_one_outcome(digits: str, expected: str | None) -> None:
    outcomes = {repr(s): normalize_phone(s, "US") for s in spellings(digits)}
    assert set(outcomes.values()) == {expected}, outcomes


@pytest.mark.parametrize("digits", ["4155552671", "9999999999", "0000000000"])
def test_without_a_default_region_only_numbers_with_their_country_code_are_read(digits: str) -> None:
    for s in spellings(digits):
        international = isinstance(s, str) and s.strip().startswith("+")
        expected = normalize_phone(s, "US") if international else None
        assert normalize_phone(s, None) == expected, s


@pytest.mark.parametrize(
    "spelled, region",
    [
        ("+44 7700 900123", "GB"),
        ("07700 900123", "GB"),
        ("07700-900-123", "GB"),
        ("+44 (0)7700 900123", "GB"),
        ("0044 7700 900123", "GB"),
        ("011 44 7700 900123", "US"),
        ("+44 7700 900123", "US"),
        ("+44 7700 900123", None),
    ],
)
def test_a_number_abroad_has_one_value_however_written(spelled: str, region: str | None) -> None:
    assert normalize_phone(spelled, region) == "+447700900123"


@settings(deadline=None)  # the first parse loads phonenumbers' metadata
@given(st.text("0123456789", min_size=10, max_size=10), st.sampled_from(["US", "CA", None]))
def test_any_ten_digits_get_one_outcome_in_every_spelling(digits: str, region: str | None) -> None:
    outcomes = {
        normalize_phone(s, region)
        for s in spellings(digits)
        if region is not None or (isinstance(s, str) and s.strip().startswith("+"))
    }
    assert len(outcomes) == 1, (digits, outcomes)


def test_the_five_spellings_of_the_issue_are_one_number() -> None:
    spelled = ["9999999999", "(999) 999-9999", "999.999.9999", "+1 999 999 9999", "19999999999"]
    assert {s: normalize_phone(s, "US") for s in spelled} == dict.fromkeys(spelled, "+19999999999")


@pytest.mark.parametrize(
    "region, e164, spelled",
    [
        (
            "FR",
            "+33612345678",
            [
                "+33 6 12 34 56 78",
                "06 12 34 56 78",
                "06.12.34.56.78",
                "0033 6 12 34 56 78",
                "+33 (0)6 12 34 56 78",
            ],
        ),
        (
            "DE",
            "+49301234567",
            [
                "+49 30 1234567",
                "030 1234567",
                "030/1234567",
                "(030) 1234567",
                "0049 30 1234567",
                "+49 (0)30 1234567",
            ],
        ),
        ("AU", "+61412345678", ["+61 412 345 678", "0412 345 678", "0412-345-678", "(04) 1234 5678"]),
        ("IN", "+919876543210", ["+91 98765 43210", "098765 43210", "+91-98765-43210", "9876543210"]),
        ("JP", "+81312345678", ["+81 3-1234-5678", "03-1234-5678", "(03) 1234-5678"]),
    ],
)
def test_numbers_outside_the_nanp_have_one_value_in_every_spelling(
    region: str, e164: str, spelled: list[str]
) -> None:
    assert {s: normalize_phone(s, region) for s in spelled} == dict.fromkeys(spelled, e164)
    # Written with the country code, the number is the same whatever the workspace's region.
    for s in spelled:
        if s.startswith("+"):
            assert normalize_phone(s, "US") == e164, s
