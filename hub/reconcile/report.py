"""What a reconcile found for one stream, and for a connection: the report kept and shown."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = ["StreamReport", "ConnectionReport", "ReconcileStatus", "SAMPLE_KEYS"]

# clean: source and warehouse agree; differences: missing, extra or stale rows; failed: the
# check could not run (the error says why).
ReconcileStatus = Literal["clean", "differences", "failed"]
# What a check read of the source: "full" every record (checksums compared), "keys" the
# connector's keys-only read (docs/reconciliation.md, "What is compared").
ReadKind = Literal["full", "keys"]
SAMPLE_KEYS = 10  # keys shown per kind of difference; repair reads them all from the engine


@dataclass
class StreamReport:
    connection: str
    stream: str
    table: str
    source: int = 0  # mapped source rows (filtered and unmappable records are not rows)
    warehouse: int = 0  # live warehouse rows (soft-deleted ones left out)
    missing: int = 0  # at the source, not in the warehouse
    extra: int = 0  # in the warehouse, no longer at the source
    # in both, but the warehouse row's checksum differs from the source's (a full read), or
    # the source changed it after the warehouse row's `updated_at` (a keys-only read)
    stale: int = 0
    equal: int = 0
    # Changed at the source since the last sync read (cursor at or after it): the next sync
    # brings them, so they are not differences.
    pending: int = 0
    samples: dict[str, list[str]] = field(default_factory=dict)
    seconds: float = 0.0
    status: ReconcileStatus = "clean"
    error: str | None = None
    read: ReadKind = "full"  # what was read of the source (docs/reconciliation.md)

    @property
    def differences(self) -> int:
        return self.missing + self.extra + self.stale

    def settle(self) -> None:
        """Set the status from the counts (a failed report keeps its status)."""
        if self.status != "failed":
            self.status = "differences" if self.differences else "clean"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "differences": self.differences}


@dataclass
class ConnectionReport:
    connection: str
    streams: list[StreamReport] = field(default_factory=list)
    repaired: dict[str, dict[str, int]] | None = None  # stream -> what repair did
    before: list[StreamReport] | None = None  # with --repair: the reports before repairing

    @property
    def status(self) -> ReconcileStatus:
        statuses = {s.status for s in self.streams}
        if "failed" in statuses:
            return "failed"
        return "differences" if "differences" in statuses else "clean"

    @property
    def differences(self) -> int:
        return sum(s.differences for s in self.streams)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "connection": self.connection,
            "status": self.status,
            "differences": self.differences,
            "streams": [s.to_dict() for s in self.streams],
        }
        if self.repaired is not None:
            out["repaired"] = self.repaired
            out["before"] = [s.to_dict() for s in self.before or []]
        return out
