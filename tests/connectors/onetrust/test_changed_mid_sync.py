"""OneTrust: a data subject whose consent changes during a read arrives by the next run.

Not affected, and this shows it: OneTrust lists the newest change first, so a subject
changed during the read moves to page 0, behind the read; later pages repeat a subject
(merged on the key), never skip one, and the state saved (the newest LastUpdatedDate
seen, on the first page) is older than the change, which the next run reads. Were the
list unordered or oldest first with the newest stamp saved, the subject changed behind
the read would be buried under the one changed ahead of it, and this test would fail.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from hub.sandbox import Sandbox
from hub.sandbox.onetrust import PROFILES, PURPOSES
from tests.connectors.midsync import latest, read


@pytest.mark.parametrize("stream", ["data_subjects", "purpose_consents"])
def test_a_subject_changed_behind_the_read_arrives_by_the_next_run(stream: str) -> None:
    with Sandbox(seed=6, scale=400) as sb:
        ot = sb.onetrust
        config = {
            "base_url": sb.url,
            "access_token": sb.token,
            "start_date": "2020-01-01T00:00:00Z",
            "page_size": 10,
            "backoff_factor": 0.01,
        }
        changed: list[str] = []

        def change(response) -> None:  # type: ignore[no-untyped-def]
            served = [s["Identifier"].lower() for s in orjson.loads(response.body)["content"]]
            now = datetime.now(UTC) + timedelta(minutes=1)
            ahead = sorted(k for k in ot.profiles if k not in served)[-1]  # not yet read
            ot.touch(served[-1], PURPOSES["profiling"], "WITHDRAWN", at=now)
            ot.touch(ahead, PURPOSES["profiling"], "WITHDRAWN", at=now + timedelta(seconds=5))
            changed.extend([served[-1], ahead])

        sb.hooks.after(PROFILES, 1, change)
        first, state = read("onetrust", stream, config)
        assert sb.hooks.pending() == 0 and len(changed) == 2, "the change did not happen mid-read"
        second, _ = read("onetrust", stream, config, state)

        key = "Id" if stream == "data_subjects" else "Key"
        got = latest([first, second], key=lambda r: r[key])
        source = {
            s["Id"] if stream == "data_subjects" else f"{s['Id']}:{p['Id']}": (
                s["LastUpdatedDate"],
                p["Status"] if stream == "purpose_consents" else None,
            )
            for s in ot.profiles.values()
            for p in s["Purposes"]
        }
        assert {k: (r["LastUpdatedDate"], r.get("Status")) for k, r in got.items()} == source
        for identifier in changed:
            subject = ot.profiles[identifier]
            if stream == "data_subjects":
                statuses = {p["Id"]: p["Status"] for p in got[subject["Id"]]["Purposes"]}
            else:
                statuses = {
                    r["PurposeId"]: r["Status"] for r in got.values() if r["DataSubjectId"] == subject["Id"]
                }
            assert statuses[PURPOSES["profiling"]] == "WITHDRAWN", identifier
