"""Identifier normalisation: each spelling of one address or number becomes one value."""

from __future__ import annotations

import pytest

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
