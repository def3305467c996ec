"""The functions a mapping may apply to a value, by name.

Each entry is a factory: it takes the function's arguments from the YAML (validated
at load time) and returns a plain callable value -> value that raises ValueError
with a short reason when the value cannot be converted. None passes through
every function untouched (a missing value stays missing), except `default`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import phonenumbers

__all__ = ["FUNCTIONS", "Fn", "parse_datetime", "to_e164"]

Fn = Callable[[Any], Any]


def _no_args(fn: Fn) -> Callable[..., Fn]:
    def factory(**kwargs: Any) -> Fn:
        if kwargs:
            raise TypeError(f"takes no arguments, got {', '.join(kwargs)}")
        return fn

    return factory


def _strings(fn: Callable[[str], Any]) -> Fn:
    def apply(v: Any) -> Any:
        return fn(v) if isinstance(v, str) else v

    return apply


def parse_datetime(v: Any) -> datetime:
    """ISO-8601 (with Z or an offset; naive means UTC) or epoch seconds/milliseconds -> UTC."""
    if isinstance(v, datetime):
        dt = v
    elif isinstance(v, int | float) and not isinstance(v, bool):
        dt = datetime.fromtimestamp(v / 1000 if abs(v) > 1e11 else v, UTC)
    elif isinstance(v, str):
        text = v.strip()
        if text.isdigit():
            return parse_datetime(int(text))
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"value {v!r} is not a datetime (ISO-8601 or epoch)") from None
    else:
        raise ValueError(f"value {v!r} is not a datetime (ISO-8601 or epoch)")
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


_PHONE_CHARS = re.compile(r"^\+?[0-9 ().\-]+$")
_PHONE_PUNCTUATION = str.maketrans("", "", " ().-+")


@lru_cache(maxsize=65536)
def to_e164(v: str, region: str) -> str | None:
    """E.164 form of a phone number; '' is None; impossible numbers raise ValueError."""
    text = v.strip()
    if not text:
        return None
    if _PHONE_CHARS.match(text) and "(0)" not in text:
        # Fast path for the common shapes; phonenumbers costs ~30 µs a call.
        digits = text.translate(_PHONE_PUNCTUATION)
        if text.startswith("+") and 8 <= len(digits) <= 15:
            return "+" + digits
        if region == "US" and len(digits) == 10 and digits[0] not in "01":
            return "+1" + digits
        if region == "US" and len(digits) == 11 and digits[0] == "1" and digits[1] not in "01":
            return "+" + digits
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise ValueError(f"value {v!r} is not a phone number") from None
    if not phonenumbers.is_possible_number(number):
        raise ValueError(f"value {v!r} is not a possible phone number for region {region}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _e164(region: str = "US") -> Fn:
    if not isinstance(region, str) or len(region) != 2:
        raise TypeError("`region` must be a two-letter country code, e.g. US")
    region = region.upper()
    return lambda v: None if v is None else to_e164(str(v), region)


def _to_int(v: Any) -> Any:
    if v is None or isinstance(v, int) and not isinstance(v, bool):
        return v
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise ValueError(f"value {v!r} is not an integer") from None
    if not f.is_integer():
        raise ValueError(f"value {v!r} is not a whole number")
    return int(f)


def _to_float(v: Any) -> Any:
    if v is None or isinstance(v, float):
        return v
    try:
        return float(v)
    except (TypeError, ValueError):
        raise ValueError(f"value {v!r} is not a number") from None


_TRUE, _FALSE = {"true", "yes", "1", "y", "t"}, {"false", "no", "0", "n", "f", ""}


def _to_bool(v: Any) -> Any:
    if v is None or isinstance(v, bool):
        return v
    text = str(v).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"value {v!r} is not a boolean")


def _sha256(v: Any) -> Any:
    return None if v is None else hashlib.sha256(str(v).encode()).hexdigest()


def _split(sep: str = ",", strip: bool = True) -> Fn:
    def apply(v: Any) -> Any:
        if not isinstance(v, str):
            return v
        parts = v.split(sep)
        return [p.strip() for p in parts if p.strip()] if strip else parts

    return apply


def _join(sep: str = ",") -> Fn:
    return lambda v: sep.join(str(x) for x in v if x is not None) if isinstance(v, list) else v


def _map(values: dict[str, Any], default: Any = ..., ignore_case: bool = False) -> Fn:
    if not isinstance(values, dict):
        raise TypeError("`values` must be a mapping of input -> output")
    table = {str(k).lower() if ignore_case else str(k): out for k, out in values.items()}

    def apply(v: Any) -> Any:
        if v is None:
            return None
        key = str(v).lower() if ignore_case else str(v)
        if key in table:
            return table[key]
        if default is ...:
            raise ValueError(f"value {v!r} is not in the value map and no default is set")
        return default

    return apply


def _default(value: Any) -> Fn:
    return lambda v: value if v is None or v == "" else v


def _empty_to_null(v: Any) -> Any:
    return None if isinstance(v, str) and not v.strip() else v


def _domain(v: Any) -> Any:
    """'https://www.Example.com/about' -> 'example.com'."""
    if not isinstance(v, str):
        return v
    host = re.sub(r"^[a-z][a-z0-9+.-]*://", "", v.strip().lower()).split("/")[0].split(":")[0]
    return host.removeprefix("www.") or None


def _name_part(part: str) -> Fn:
    """One part of a full name in one field: `first` is all but the last word, `last` the last.

    A one-word name is a first name. Systems that keep one name field (Zendesk,
    Facebook) feed canonical first_name / last_name this way."""
    if part not in ("first", "last"):
        raise TypeError("name_part takes part: first or last")

    def fn(v: Any) -> Any:
        if not isinstance(v, str) or not v.split():
            return None
        words = v.split()
        if part == "last":
            return words[-1] if len(words) > 1 else None
        return " ".join(words[:-1]) if len(words) > 1 else words[0]

    return fn


FUNCTIONS: dict[str, Callable[..., Fn]] = {
    "lower": _no_args(_strings(str.lower)),
    "upper": _no_args(_strings(str.upper)),
    "trim": _no_args(_strings(str.strip)),
    "empty_to_null": _no_args(_empty_to_null),
    "e164": _e164,
    "to_utc": _no_args(lambda v: None if v is None else parse_datetime(v)),
    "sha256": _no_args(_sha256),
    "split": _split,
    "join": _join,
    "map": _map,
    "default": _default,
    "to_int": _no_args(_to_int),
    "to_float": _no_args(_to_float),
    "to_bool": _no_args(_to_bool),
    "to_string": _no_args(lambda v: v if v is None or isinstance(v, str) else str(v)),
    "domain": _no_args(_domain),
    "name_part": _name_part,
}
