"""The small info records each step returns; they become run metrics and audit details."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = ["StreamInfo", "RunInfo", "StreamStatus", "RunStatus"]

# abandoned: the run's process died (SIGKILL, OOM, a crash) and a later run or `crossdock runs`
# noticed its lease was gone (hub/store/locks.py); a run never ends itself so.
StreamStatus = Literal["running", "succeeded", "failed", "abandoned"]
RunStatus = Literal["running", "succeeded", "partial", "failed", "abandoned"]


@dataclass
class StreamInfo:
    stream: str
    table: str
    status: StreamStatus = "running"
    read: int = 0
    written: int = 0
    dead_lettered: int = 0
    filtered: int = 0
    # rows of people `crossdock erase` forgot (a tombstone matched): read, never written
    erased_skipped: int = 0
    state: dict[str, Any] | None = None
    seconds: float = 0.0
    error: str | None = None
    # fields the source sent that its schema does not declare, and type mismatches (drift.py)
    schema_drift: dict[str, Any] | None = None
    # write-back only: create/update/delete/unchanged/accepted/rejected counts, dry_run, samples
    writeback: dict[str, Any] | None = None
    # why a saved incremental state was not resumed from (a new destination, a dropped table)
    state_reset: str | None = None
    # the govern step: dropped / withdrawn / changed counts and per rule (hub/governance/step.py)
    governance: dict[str, Any] | None = None
    # API calls, budget waits, 429s, egress refusals and a quota stop (hub/apigov/report.py)
    api: dict[str, Any] | None = None

    @property
    def records_per_second(self) -> float:
        return self.read / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "records_per_second": round(self.records_per_second, 1)}


@dataclass
class RunInfo:
    run_id: str
    connection: str
    status: RunStatus
    full_refresh: bool
    seconds: float
    destination: str
    streams: list[StreamInfo] = field(default_factory=list)
    error: str | None = None

    @property
    def read(self) -> int:
        return sum(s.read for s in self.streams)

    @property
    def written(self) -> int:
        return sum(s.written for s in self.streams)

    @property
    def dead_lettered(self) -> int:
        return sum(s.dead_lettered for s in self.streams)

    @property
    def records_per_second(self) -> float:
        return self.read / self.seconds if self.seconds > 0 else 0.0

    @property
    def api(self) -> dict[str, Any] | None:
        """The streams' API counts summed (hub/apigov): calls, budget waits, 429s, refusals,
        quota stops; None when no stream called an API."""
        used = [s.api for s in self.streams if s.api]
        if not used:
            return None
        keys = ("calls", "waits", "wait_seconds", "throttled", "refused", "quota_stops")
        total: dict[str, Any] = {k: sum(u[k] for u in used) for k in keys}
        total["wait_seconds"] = round(total["wait_seconds"], 3)
        total["resume_at"] = max((u["resume_at"] for u in used if u.get("resume_at")), default=None)
        return total

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "connection": self.connection,
            "status": self.status,
            "full_refresh": self.full_refresh,
            "seconds": round(self.seconds, 3),
            "records_read": self.read,
            "records_written": self.written,
            "records_dead_lettered": self.dead_lettered,
            "records_per_second": round(self.records_per_second, 1),
            "destination": self.destination,
            "error": self.error,
            "api": self.api,
            "streams": {s.stream: s.to_dict() for s in self.streams},
        }
