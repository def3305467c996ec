"""A registered secret is masked in every form it takes on the wire, not only raw."""

from __future__ import annotations

import base64
import json
import logging
import re
from urllib.parse import quote, quote_plus, urlencode

import pytest

from hub import redaction
from hub.redaction import MASK, RedactingFilter, redact, register_secret

SECRET = 'EAAB+x/9q=Zk Pé"z=='  # + / = a space, a non-ASCII letter and a quote


@pytest.fixture(autouse=True, scope="module")
def _registered() -> None:
    register_secret(SECRET)


@pytest.mark.parametrize(
    "form",
    [
        SECRET,
        quote(SECRET, safe=""),  # a query parameter, %2B%2F%3D
        re.sub("%[0-9A-F]{2}", lambda m: m[0].lower(), quote(SECRET, safe="")),  # lower-case hex
        quote(SECRET),  # a URL path: `/` stays
        quote_plus(SECRET),  # a form body: space as +
        quote(quote(SECRET, safe=""), safe=""),  # encoded twice (a URL inside a URL)
        json.dumps(SECRET)[1:-1],  # JSON with \u00e9 and \"
        json.dumps(SECRET, ensure_ascii=False)[1:-1],
        json.dumps(SECRET)[1:-1].replace("/", "\\/"),  # JSON that escapes slashes
        base64.b64encode(SECRET.encode()).decode(),
        base64.urlsafe_b64encode(SECRET.encode()).decode(),
    ],
)
def test_every_wire_form_is_masked(form: str) -> None:
    text = f"GET /v19.0/posts?{urlencode({'a': 1})}&access_token={form}&after=x failed"
    masked = redact(text)
    assert form not in masked and MASK in masked, masked
    assert masked.startswith("GET /v19.0/posts?a=1&access_token=") and masked.endswith("&after=x failed")


@pytest.mark.parametrize("user", ["agent@example.com/token", "anystring", "x", ""])
def test_basic_auth_of_any_user_hides_the_secret(user: str) -> None:
    header = base64.b64encode(f"{user}:{SECRET}".encode()).decode()
    masked = redact(header)
    assert masked.count(MASK) == 1, masked
    before, after = masked.split(MASK)
    # Visible: the characters encoding the user (and at most 4 bits of the secret's first
    # byte), and the last one (at most 4 bits of its last byte) with the padding.
    assert header.startswith(before) and len(before) <= -(-4 * len(f"{user}:".encode()) // 3) + 1
    assert header.endswith(after) and len(after.rstrip("=")) <= 1


def test_a_known_basic_auth_pair_is_masked_whole() -> None:
    redaction.register_basic_auth("agent@example.com/token", "zd-tok-1234")
    header = base64.b64encode(b"agent@example.com/token:zd-tok-1234").decode()
    assert redact(f"Authorization: Basic {header}") == f"Authorization: Basic {MASK}"


def test_the_log_filter_masks_encoded_forms_and_tracebacks() -> None:
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "url %s", (quote(SECRET, safe=""),), None)
    try:
        raise RuntimeError(f"400 for url ...?access_token={quote_plus(SECRET)}")
    except RuntimeError:
        import sys

        record.exc_info = sys.exc_info()
    RedactingFilter().filter(record)
    text = logging.Formatter().format(record)
    assert quote(SECRET, safe="") not in text and quote_plus(SECRET) not in text
    assert text.count(MASK) == 2, text


def test_short_values_and_ordinary_text_are_left_alone() -> None:
    register_secret("ab")
    assert redact("ab cd %2B QUFB") == "ab cd %2B QUFB"
