"""Write-back to OneTrust through the sandbox: consents and withdrawals as receipts."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from hub.destinations import TableSpec
from hub.sandbox import Sandbox
from hub.sandbox.onetrust import PURPOSES
from hub.writeback.state import list_results
from tests.pipeline.writeback import STAMP, WritebackHub

pytestmark = pytest.mark.usefixtures("prefect_server")

CONSENTS = TableSpec(
    "consents",
    {"id": "string", "email": "string", "purpose": "string", "event": "string", "occurred_at": "datetime"},
    key=("id",),
)


class OneTrustOut(WritebackHub):
    def consents(self, rows: list[tuple[str, str, str, int]]) -> None:
        self.table(
            CONSENTS,
            [
                {
                    "id": f"{email}/{purpose}",
                    "email": email,
                    "purpose": purpose,
                    "event": event,
                    "occurred_at": STAMP + timedelta(hours=h),
                }
                for email, purpose, event, h in rows
            ],
        )


@pytest.fixture
def ot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.delenv("CROSSDOCK_STORE_URL", raising=False)
    with Sandbox(seed=7, scale=50, port=0) as sb:
        hub = OneTrustOut(
            tmp_path,
            sb,
            "onetrust",
            {
                "collection_point_token": "sandbox-token",
                "access_token": "sandbox-token",
                "purposes": {
                    "newsletter": PURPOSES["newsletter"],
                    "profiling": PURPOSES["profiling"],
                    "retired": "00000000-0000-0000-0000-00000000dead",
                },
            },
            stream="consents",
        )
        yield hub


def test_consents_and_withdrawals_become_receipts_and_state(ot: OneTrustOut) -> None:
    rows = [(f"subject{i}@example.org", "newsletter", "granted", i) for i in range(10)]
    rows += [
        ("subject1@example.org", "profiling", "withdrawn", 20),
        ("subject2@example.org", "sms", "granted", 21),  # no OneTrust id: not sent
        ("subject3@example.org", "retired", "granted", 22),
    ]  # OneTrust refuses the id
    ot.consents(rows)

    result = ot.sync()
    counts = result["streams"]["consents"]["writeback"]
    assert result["status"] == "succeeded", result
    assert (counts["accepted"], counts["rejected"]) == (11, 2)
    subjects = ot.sandbox.onetrust.subjects
    assert subjects["subject4@example.org"] == {PURPOSES["newsletter"]: "ACTIVE"}
    assert subjects["subject1@example.org"][PURPOSES["profiling"]] == "WITHDRAWN"
    reasons = sorted(r.reason or "" for r in list_results(ot.ctx.engine, result["run_id"], "rejected"))
    assert reasons[0].startswith("Purpose 00000000-0000-0000-0000-00000000dead does not exist")
    assert reasons[1].startswith("purpose `sms` has no OneTrust id")

    rows[4] = ("subject4@example.org", "newsletter", "withdrawn", 30)  # they changed their mind
    ot.consents(rows)
    again = ot.sync()["streams"]["consents"]["writeback"]
    assert (again["update"], again["accepted"]) == (1, 1)
    assert ot.sandbox.onetrust.subjects["subject4@example.org"] == {PURPOSES["newsletter"]: "WITHDRAWN"}
    assert len(ot.sandbox.onetrust.receipts) == 12


def test_a_wrong_collection_point_token_fails_clearly(ot: OneTrustOut) -> None:
    ot.workspace(collection_point_token="not-the-token")
    ot.consents([("a@example.org", "newsletter", "granted", 0)])
    result = ot.sync()
    assert result["status"] == "failed"
    assert "OneTrust refused the credentials (HTTP 401" in result["streams"]["consents"]["error"]
    assert "not-the-token" not in str(result)


def test_without_a_read_token_the_connection_is_refused_before_any_call(ot: OneTrustOut) -> None:
    ot.workspace(access_token="")
    ot.consents([("a@example.org", "newsletter", "granted", 0)])
    result = ot.sync()
    assert result["status"] == "failed"
    assert "needs `access_token`" in result["streams"]["consents"]["error"], result
    assert ot.sandbox.onetrust.receipts == []


def test_a_lost_response_is_read_back_not_sent_again(ot: OneTrustOut) -> None:
    ot.consents(
        [
            ("retry@example.org", "newsletter", "withdrawn", 0),
            ("other@example.org", "newsletter", "granted", 1),
        ]
    )
    with (
        ot.sandbox.faults.planted(path_prefix="/request/v1/consentreceipts", kind="lost", times=1),
        ot.sandbox.faults.planted(path_prefix="/request/v1/consentreceipts", kind="503", times=1),
    ):
        result = ot.sync()
    assert result["streams"]["consents"]["writeback"]["accepted"] == 2
    assert ot.sandbox.onetrust.subjects["retry@example.org"] == {PURPOSES["newsletter"]: "WITHDRAWN"}
    # one receipt each: the lost one was found by reading the subject back; the 503 had not
    # landed, so the read-back found nothing and the receipt was sent again
    assert sorted(r["identifier"] for r in ot.sandbox.onetrust.receipts) == [
        "other@example.org",
        "retry@example.org",
    ]
    assert "sandbox-token" not in str(result)
