"""The PII policy's fast paths give the same values as the plain definitions: HMAC-SHA256 with
precomputed states equals hmac.digest, and a remembered hash equals a fresh one."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from hub.governance.policies import PiiPolicy, _hmac_sha256_hex


@pytest.mark.parametrize("key_len", [0, 1, 32, 64, 65, 200])
def test_precomputed_hmac_equals_hmac_digest(key_len: int) -> None:
    key = bytes(range(256))[:key_len] if key_len <= 256 else b""
    token = _hmac_sha256_hex(key)
    for data in (b"", b"ada", "Ådå Lovelace".encode(), b"x" * 200):
        assert token(data) == hmac.digest(key, data, "sha256").hex()
    assert _hmac_sha256_hex(b"k" * 32)(b"ada") != _hmac_sha256_hex(b"j" * 32)(b"ada")  # the key counts


def test_remembered_values_equal_fresh_ones_and_types_stay_apart() -> None:
    policy = PiiPolicy({"email": "hash", "first_name": "tokenise", "phone": "hash"}, b"k" * 32)
    key = hmac.digest(b"k" * 32, b"ada", "sha256").hex()[:32]
    rows = [{"email": " Ada@X.org ", "first_name": "Ada", "phone": "+47 900"} for _ in range(3)]
    rows.append({"email": 1, "first_name": 1.0, "phone": ["+47", "900"]})  # not text: computed each time
    for row in rows:
        assert policy.decide(row, None) is not None
    for row in rows[:3]:
        assert row == {
            "email": hashlib.sha256(b"ada@x.org").hexdigest(),
            "first_name": "tok_" + key,
            "phone": hashlib.sha256(b"47900").hexdigest(),
        }
    assert rows[3]["email"] == hashlib.sha256(b"1").hexdigest()
    assert rows[3]["first_name"] == "tok_" + hmac.digest(b"k" * 32, b"1.0", "sha256").hex()[:32]
    assert rows[3]["phone"] == hashlib.sha256(b"47900").hexdigest()
