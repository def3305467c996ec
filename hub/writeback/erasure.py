"""What a write-back connector trades with the hub when a person must be forgotten.

`crossdock erase` (hub/governance/erasure.py) asks every SaaS system that may hold the
person to delete them through the system's own deletion API. The connector gets the
person's addresses and the ids the hub knows for them in that system, and answers with
one outcome: what it did, in counts and ids, never the address itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["ErasureSubject", "ErasureOutcome", "ErasureStatus", "tally"]

# deleted: the system removed them; not_found: it had no such person; requested: it took
# the request and deletes later (OneTrust, Facebook); failed: retry this system;
# unsupported: the connector has no deletion API.
ErasureStatus = Literal["deleted", "not_found", "requested", "failed", "unsupported"]


@dataclass(frozen=True)
class ErasureSubject:
    emails: tuple[str, ...]  # trimmed, lower case
    phones: tuple[str, ...] = ()
    # record source (a connector name: "zendesk", "shopify") -> the person's ids there, from
    # the warehouse rows and from what write-back sent (the snapshot's remote ids)
    ids: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def ids_in(self, source: str) -> tuple[str, ...]:
        return tuple(self.ids.get(source, ()))


@dataclass(frozen=True)
class ErasureOutcome:
    status: ErasureStatus
    detail: str = ""  # what was asked and answered, in counts and ids; never an address
    deleted: int = 0  # records the system said it removed

    @property
    def retry(self) -> bool:
        return self.status == "failed"


def tally(what: str, deleted: int, missing: int) -> ErasureOutcome:
    """The outcome of deletion calls that each removed a record (`deleted`) or found none."""
    status: ErasureStatus = "deleted" if deleted else "not_found"
    return ErasureOutcome(status, f"{what}: {deleted} deleted, {missing} not found", deleted)
