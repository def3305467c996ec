"""Write-back to Zendesk through the sandbox: bulk create-or-update jobs, polled to the end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hub.sandbox import Sandbox
from hub.writeback.state import list_results
from tests.pipeline.writeback import WritebackHub, profile

pytestmark = pytest.mark.usefixtures("prefect_server")

BULK = "/api/v2/users/create_or_update_many.json"


class ZendeskOut(WritebackHub):
    def users_by_email(self) -> dict[str, list[dict[str, Any]]]:
        found: dict[str, list[dict[str, Any]]] = {}
        for user in self.sandbox.zendesk.objects("users").values():
            found.setdefault((user.get("email") or "").lower(), []).append(user)
        return found


@pytest.fixture
def zd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.delenv("CROSSDOCK_STORE_URL", raising=False)
    with Sandbox(seed=7, scale=300, port=0) as sb:
        yield ZendeskOut(
            tmp_path,
            sb,
            "zendesk",
            {
                "credentials": {
                    "credentials": "api_token",
                    "email": "agent@example.com",
                    "api_token": "sandbox-token",
                }
            },
        )


def test_users_are_created_and_updated_through_polled_jobs(zd: ZendeskOut) -> None:
    existing = [u for u in zd.sandbox.zendesk.objects("users").values() if u.get("email")][:30]
    rows = [profile(i, u["email"], first_name="Renamed") for i, u in enumerate(existing)]
    rows += [profile(100 + i, f"caller{i}@example.org", phone="+4722334455") for i in range(120)]
    rows[40]["email"] = "caller-at-example"  # Zendesk refuses it; the other 99 in its job land
    zd.profiles(rows)
    before = len(zd.sandbox.zendesk.objects("users"))

    result = zd.sync()
    counts = result["streams"]["profiles"]["writeback"]
    assert result["status"] == "succeeded", result
    assert (counts["accepted"], counts["rejected"]) == (149, 1)
    assert zd.calls(BULK) == 2 and zd.calls("/api/v2/job_statuses/") >= 2
    users = zd.users_by_email()
    assert len(zd.sandbox.zendesk.objects("users")) == before + 119
    assert users["caller7@example.org"][0]["name"] == "First107 Last107"
    assert users["caller7@example.org"][0]["phone"] == "+4722334455"
    assert all(users[u["email"].lower()][0]["name"] == f"Renamed Last{i}" for i, u in enumerate(existing))
    [rejected] = list_results(zd.ctx.engine, result["run_id"], "rejected")
    assert (rejected.record_ref, rejected.reason) == (
        "crossdock:p00110",
        "UserCreateFailed: Email: is not properly formatted",
    )

    again = zd.sync()["streams"]["profiles"]["writeback"]
    assert (again["unchanged"], again["create"], again["rejected"]) == (149, 1, 1)
    assert zd.calls(BULK) == 3  # only the still-invalid row was tried again


def test_a_lost_job_response_is_retried_without_duplicate_users(zd: ZendeskOut) -> None:
    zd.profiles([profile(i, f"twice{i}@example.org") for i in range(50)])
    before = len(zd.sandbox.zendesk.objects("users"))
    with zd.sandbox.faults.planted(path_prefix=BULK, kind="lost", times=1):
        result = zd.sync()
    assert result["streams"]["profiles"]["writeback"]["accepted"] == 50
    assert len(zd.sandbox.zendesk.objects("users")) == before + 50
    assert all(len(v) == 1 for k, v in zd.users_by_email().items() if k.startswith("twice"))
