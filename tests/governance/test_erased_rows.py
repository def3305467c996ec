"""The SQL sync's two filters between map and write: erased people left out (tombstones), then
the policies; each row that goes on keeps its position in the mapped batch (a destination's
refusal is reported against the right source record)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from hub.governance.config import GovernanceConfig
from hub.governance.people import PersonIndex
from hub.governance.step import Governor, build_policies
from hub.governance.tombstones import Tombstones, digest
from hub.pipeline.info import StreamInfo
from hub.pipeline.stream import _forget_erased, _govern

KEY = b"t" * 32
CONFIG = GovernanceConfig.model_validate(
    {
        "purposes": {"analytics": {"consent": ["profiling"]}},
        "regions": {
            "eu": {"countries": ["Germany"], "consent": "opt_in", "send_to": ["eu"]},
            "us": {"countries": ["United States"], "consent": "opt_out", "send_to": ["us", "eu"]},
        },
    }
)


def _job(governed: bool) -> Any:
    index = PersonIndex.build(CONFIG, [])
    governor = Governor(
        connection="copy",
        stream="contacts",
        entity="contact",
        policies=build_policies(CONFIG, "copy", "analytics", "eu", False, KEY),
        key_fields=("source", "source_id"),
        load_people=lambda: index,
    )
    erased = Tombstones(KEY, [digest(KEY, "email", "gone@example.org")])
    return SimpleNamespace(
        erased=erased, governor=governor if governed else None, run_id="r", dry_run=True, engine=None
    )


def _rows() -> list[dict[str, Any]]:
    return [
        {"source": "crm", "source_id": "0", "email": "us0@example.org", "country": "United States"},
        {"source": "crm", "source_id": "1", "email": " Gone@Example.org", "country": "United States"},
        {"source": "crm", "source_id": "2", "email": "eu@example.org", "country": "Germany"},  # no consent
        {"source": "crm", "source_id": "3", "email": "us3@example.org", "country": "United States"},
    ]


def test_erased_rows_are_left_out_and_positions_point_into_the_mapped_batch() -> None:
    info = StreamInfo(stream="contacts", table="t")
    rows, positions = _govern(_job(True), *_forget_erased(_job(True), _rows(), info), info)
    assert [r["source_id"] for r in rows] == ["0", "3"]
    assert positions == [0, 3]
    assert info.erased_skipped == 1 and info.governance is not None and info.governance["dropped"] == 1


def test_without_policies_only_the_erased_are_left_out() -> None:
    info = StreamInfo(stream="contacts", table="t")
    rows, positions = _govern(_job(False), *_forget_erased(_job(False), _rows(), info), info)
    assert [r["source_id"] for r in rows] == ["0", "2", "3"] and positions == [0, 2, 3]
    assert info.erased_skipped == 1
