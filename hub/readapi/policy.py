"""Which people a key may see: consent for its purposes, and its regions.

`consenting` is the one place the read API asks about consent. It reads each profile's latest
consent per purpose from the profile timeline (the OneTrust `consent` records stitching put
there). When hub/governance/consent.py's `consent_allows(...)` lands, its body becomes a call to
that, and nothing else here changes.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from hub.readapi.scope import Scope
from hub.readapi.warehouse import Warehouse

__all__ = ["consenting", "visible_profiles", "GRANTED"]

GRANTED = "granted"


def consenting(warehouse: Warehouse, profile_ids: Collection[str], purposes: Sequence[str]) -> set[str]:
    """The profiles whose latest consent for every purpose is `granted`.

    No consent record for a purpose is no consent. Two records at the same instant: the one
    that is not `granted` wins (when unsure, do not share).
    """
    if not purposes:
        return set(profile_ids)
    wanted = set(purposes)
    latest: dict[tuple[str, str], tuple[str, bool, str]] = {}
    for pid, purpose, event, at in warehouse.consents(profile_ids):
        if purpose not in wanted:
            continue
        rank = (_when(at), event != GRANTED, event)
        if (pid, purpose) not in latest or rank > latest[(pid, purpose)]:
            latest[(pid, purpose)] = rank
    return {
        pid
        for pid in profile_ids
        if all(latest.get((pid, p), ("", True, ""))[2] == GRANTED for p in purposes)
    }


def visible_profiles(warehouse: Warehouse, scope: Scope, profile_ids: Collection[str]) -> set[str]:
    """The profiles a key with `scope` may see: in its regions, and consenting to its purposes."""
    ids = set(profile_ids)
    if scope.regions and ids:
        countries = warehouse.countries(ids)
        ids = {pid for pid in ids if scope.in_region(countries.get(pid))}
    return consenting(warehouse, ids, scope.purposes) if ids else ids


def _when(at: Any) -> str:
    return at.isoformat() if hasattr(at, "isoformat") else str(at or "")
