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


def normalize_phone(raw: object, region: str = "US") -> str | None:
    if isinstance(raw, int):
        raw = str(raw)
    if not isinstance(raw, str) or not raw.strip():
        return None
    value = raw.strip()
    if _E164.match(value):
        return value
    # Fast paths for the common national spellings; the full parser (~75 us) for the rest.
    compact = _SEPARATORS.sub("", value)
    if _E164.match(compact):
        return compact
    if compact.isdigit():
        code = _country_code(region)
        if code == 1 and len(compact) == 10 and compact[0] not in "01":
            return "+1" + compact
        if (
            code not in (0, 1)
            and compact.startswith("0")
            and not compact.startswith("00")
            and 6 <= len(compact) - 1 + len(str(code)) <= 15
        ):
            return f"+{code}{compact[1:]}"
    try:
        parsed = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


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


def normalizer(kind: str, phone_region: str = "US") -> Callable[[object], str | None]:
    if kind == "phone":
        return lambda raw: normalize_phone(raw, phone_region)
    return {"email": normalize_email, "id": normalize_id}[kind]


def is_blocked(value: str, patterns: tuple[str, ...]) -> bool:
    return _blocked_regex(patterns).match(value) is not None


@lru_cache(maxsize=16)
def _blocked_regex(patterns: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{translate(p)})" for p in patterns) or r"(?!)")
