"""Identifier normalisation: two spellings of one address must become one node.

Emails: trimmed, lower case, plus-tag dropped, and Gmail's dots ignored (Gmail
delivers j.doe@ and jdoe@ to one inbox). Phones: E.164, with a fast path for
values the mappings already normalised.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from fnmatch import translate
from functools import lru_cache

import phonenumbers

__all__ = ["normalize_email", "normalize_phone", "normalize_id", "is_blocked", "normalizer"]

_DOTLESS_DOMAINS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}
_E164 = re.compile(r"^\+[1-9]\d{7,14}$")
_SEPARATORS = re.compile(r"[\s().\-]")
_NANP = re.compile(r"^\+1[2-9]\d{9}$")


def normalize_email(raw: object) -> str | None:
    if not isinstance(raw, str):
        return None
    value = raw.strip().lower()
    local, sep, domain = value.rpartition("@")
    if not sep or not local or "." not in domain or " " in value:
        return None
    local = local.split("+", 1)[0]
    if domain in _DOTLESS_DOMAINS:
        domain = _DOTLESS_DOMAINS[domain]
        local = local.replace(".", "")
    return f"{local}@{domain}" if local else None


def normalize_phone(raw: object, region: str | None = "US") -> str | None:
    """E.164, or None for what cannot be a phone number.

    Every spelling of one number gets one outcome: `9999999999`, `(999) 999-9999`,
    `999.999.9999`, `+1 999 999 9999` and `19999999999` are all `+19999999999`. So
    one rule decides, on the E.164 form, whatever path produced it: the shape of
    E.164 and, for the NANP (+1), ten digits whose area code does not start with 0
    or 1. A number is not checked against the allocated ranges
    (`phonenumbers.is_valid_number`): the fast paths cannot afford it, and a check
    only one spelling passes through would keep one spelling and drop another.
    Without a `region`, only numbers written with their country code are read.
    """
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if not isinstance(raw, str) or not raw.strip():
        return None
    value = raw.strip()
    if _E164.match(value):
        return _accept(value)
    # Fast paths for the common national spellings; the full parser (~75 us) for the rest.
    # "+44 (0)7700 900123": the trunk 0 in brackets is dropped when dialling from abroad.
    compact = _SEPARATORS.sub("", value.replace("(0)", "") if value.startswith("+") else value)
    if _E164.match(compact):
        return _accept(compact)
    if compact.isdigit() and region is not None:
        code = _country_code(region)
        if code == 1 and len(compact) == 10:
            return _accept("+1" + compact)
        if code == 1 and len(compact) == 11 and compact[0] == "1":  # the NANP trunk prefix
            return _accept("+" + compact)
        if (
            code not in (0, 1)
            and compact.startswith("0")
            and not compact.startswith("00")
            and 6 <= len(compact) - 1 + len(str(code)) <= 15
        ):
            return _accept(f"+{code}{compact[1:]}")
    try:
        parsed = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    return _accept(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


def _accept(e164: str) -> str | None:
    """The one rule every spelling passes through (see normalize_phone)."""
    if not _E164.match(e164):
        return None
    if e164.startswith("+1") and not _NANP.match(e164):
        return None
    return e164


@lru_cache(maxsize=64)
def _country_code(region: str) -> int:
    """Calling code of a region whose national numbers start with the trunk prefix 0, else 0/1."""
    code = phonenumbers.country_code_for_region(region)
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if code == 1 or (meta is not None and meta.national_prefix == "0"):
        return code
    return 0


def normalize_id(raw: object) -> str | None:
    if raw is None or isinstance(raw, bool):
        return None
    value = str(raw).strip()
    return value or None


def normalizer(kind: str, phone_region: str | None = "US") -> Callable[[object], str | None]:
    if kind == "phone":
        return lambda raw: normalize_phone(raw, phone_region)
    return {"email": normalize_email, "id": normalize_id}[kind]


def is_blocked(value: str, patterns: tuple[str, ...]) -> bool:
    return _blocked_regex(patterns).match(value) is not None


@lru_cache(maxsize=16)
def _blocked_regex(patterns: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{translate(p)})" for p in patterns) or r"(?!)")
