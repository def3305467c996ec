"""Write-back to a Facebook Custom Audience through the sandbox: hashed people in and out."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from hub.sandbox import Sandbox
from hub.sandbox.facebook import AUDIENCE_ID
from hub.writeback.state import WritebackSnapshot
from tests.pipeline.writeback import WritebackHub, profile

pytestmark = pytest.mark.usefixtures("prefect_server")

USERS = f"/v19.0/{AUDIENCE_ID}/users"


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@pytest.fixture
def fb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.delenv("CROSSDOCK_STORE_URL", raising=False)
    with Sandbox(seed=7, scale=50, port=0) as sb:
        yield WritebackHub(
            tmp_path, sb, "facebook", {"audience_id": AUDIENCE_ID, "access_token": "sandbox-token"}
        )


def test_people_go_in_hashed_and_leave_when_their_row_does(fb: WritebackHub) -> None:
    fb.workspace(write_mode="overwrite")
    rows = [
        profile(i, f"  Buyer{i}@Example.org ", phone="+1 (415) 555-01{:02d}".format(i)) for i in range(30)
    ]
    rows.append(profile(99, None, phone=None))  # nothing to match on: rejected, never sent
    fb.profiles(rows)

    first = fb.sync()["streams"]["profiles"]["writeback"]
    assert (first["accepted"], first["rejected"]) == (30, 1)
    audience = fb.sandbox.facebook.audiences[AUDIENCE_ID]
    assert set(audience) == {sha(f"buyer{i}@example.org") for i in range(30)}
    assert audience[sha("buyer3@example.org")][:2] == [sha("buyer3@example.org"), sha("14155550103")]
    assert audience[sha("buyer3@example.org")][2] == sha("first3")

    fb.profiles(rows[:25])
    second = fb.sync()["streams"]["profiles"]["writeback"]
    assert (second["delete"], second["unchanged"], second["accepted"]) == (5, 25, 5)
    assert set(audience) == {sha(f"buyer{i}@example.org") for i in range(25)}
    assert fb.calls(USERS) == 2


def test_no_plain_address_reaches_the_api_or_the_store(fb: WritebackHub) -> None:
    fb.profiles([profile(1, "secret.person@example.org")])
    fb.sync()
    from sqlmodel import Session, select

    with Session(fb.ctx.engine) as session:
        stored = [row.model_dump_json() for row in session.exec(select(WritebackSnapshot))]
    assert stored and not any("secret.person" in s for s in stored)
    assert not any("secret.person" in str(p) for p in fb.sandbox.facebook.audiences.values())


def test_a_refused_token_fails_the_stream_with_the_reason(fb: WritebackHub) -> None:
    fb.workspace(access_token="wrong-token")
    fb.profiles([profile(1, "a@example.org")])
    result = fb.sync()
    assert result["status"] == "failed"
    assert "OAuthException 190: Invalid OAuth access token" in result["streams"]["profiles"]["error"]
    assert "check `access_token`" in result["streams"]["profiles"]["error"]
    assert "wrong-token" not in str(result)


def test_a_lost_response_is_retried_and_everyone_arrives(fb: WritebackHub) -> None:
    fb.profiles([profile(i, f"lost{i}@example.org") for i in range(40)])
    with fb.sandbox.faults.planted(path_prefix=USERS, kind="lost", times=1):
        counts = fb.sync()["streams"]["profiles"]["writeback"]
    assert counts["accepted"] == 40
    assert len(fb.sandbox.facebook.audiences[AUDIENCE_ID]) == 40  # an audience is a set
