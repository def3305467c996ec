"""Exports that carry their own anchors, so cutting lines off either end is found.

An export is JSON lines: first a signed header, then the entries. The header
names the entry just before the first exported one (`start`; seq 0 for the
chain's beginning), the last exported entry (`end`), how many entries follow,
the store's head when it was written (`head`: a second anchor for `verify
--anchor`), and the filters. Its HMAC (audit key) binds them together, so a
header cannot be swapped in from another export.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from hub.audit.chain import VerifyReport, entry_problem, verify_entries
from hub.audit.head import Head, sign, signature_holds
from hub.secrets.keys import Keyring

__all__ = ["HEADER_KEY", "export_header", "header_head", "verify_export"]

HEADER_KEY = "crossdock_audit_export"
_PURPOSE = "export"


def export_header(
    keyring: Keyring,
    entries: Sequence[dict[str, Any]],
    head: Head | None,
    filters: dict[str, Any],
    *,
    skips: bool,
) -> dict[str, Any]:
    """`skips`: the filters leave out entries in between (not just a `since` start)."""
    top = {"seq": head.seq, "entry_hash": head.entry_hash} if head else {"seq": 0, "entry_hash": ""}
    if entries:
        start = {"seq": entries[0]["seq"] - 1, "entry_hash": entries[0]["prev_hash"]}
        end = {"seq": entries[-1]["seq"], "entry_hash": entries[-1]["entry_hash"]}
    else:
        start = end = top
    return sign(
        keyring,
        _PURPOSE,
        {
            HEADER_KEY: 1,
            "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "filters": filters,
            "skips": skips,
            "entries": len(entries),
            "start": start,
            "end": end,
            "head": top,
        },
    )


def header_head(keyring: Keyring, header: dict[str, Any], where: str) -> Head:
    """The store head an export recorded, once its signature holds (ValueError if not)."""
    if header.get(HEADER_KEY) != 1 or not signature_holds(keyring, _PURPOSE, header):
        raise ValueError(f"{where} has no valid signed export header")
    head = header["head"]
    return Head(head["seq"], head["entry_hash"], header.get("exported_at", ""), where)


def verify_export(
    keyring: Keyring, header: dict[str, Any] | None, entries: Sequence[dict[str, Any]]
) -> VerifyReport:
    """An export checked against its own header: every line present, every entry genuine."""
    if header is None:
        return VerifyReport(
            False,
            0,
            None,
            "the export does not start with its signed header "
            "(start anchor): its first lines were removed, or it was not written "
            "by `crossdock audit export`",
        )
    if header.get(HEADER_KEY) != 1 or not signature_holds(keyring, _PURPOSE, header):
        return VerifyReport(
            False, 0, None, "the export's header was edited or not signed with this workspace's key"
        )
    start, end, count = header["start"], header["end"], header["entries"]
    if len(entries) != count:
        return VerifyReport(
            False,
            0,
            None,
            f"the export holds {len(entries)} entries but its "
            f"header says {count}: lines were removed or added",
        )
    if not entries:
        return VerifyReport(True, 0)
    first_seq = entries[0].get("seq")
    if first_seq != start["seq"] + 1 or entries[0].get("prev_hash") != start["entry_hash"]:
        return VerifyReport(
            False,
            0,
            start["seq"] + 1,
            f"the export should start with entry "
            f"{start['seq'] + 1}, found {first_seq!r}: its first lines were "
            "removed or replaced",
        )
    if header.get("skips"):
        report = _signatures_only(keyring, entries)
    else:
        report = verify_entries(keyring, entries, start_seq=start["seq"] + 1, prev_hash=start["entry_hash"])
    if report.ok and report.last != (end["seq"], end["entry_hash"]):
        return VerifyReport(
            False,
            report.checked,
            end["seq"],
            f"the export should end with entry {end['seq']}: its last lines were removed or replaced",
            report.last,
        )
    return report


def _signatures_only(keyring: Keyring, entries: Sequence[dict[str, Any]]) -> VerifyReport:
    """A filtered export skips entries, so only each entry and their order can be checked."""
    previous = -1
    for checked, entry in enumerate(entries):
        problem = entry_problem(keyring, entry, f"entry {entry.get('seq')!r}")
        if not problem and entry["seq"] <= previous:
            problem = f"entry {entry['seq']} comes after entry {previous}: entries were reordered"
        if problem:
            seq = entry.get("seq")
            return VerifyReport(False, checked, seq if isinstance(seq, int) else None, problem)
        previous = entry["seq"]
    last = entries[-1]
    return VerifyReport(True, len(entries), last=(last["seq"], last["entry_hash"]))
