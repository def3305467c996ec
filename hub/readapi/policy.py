"""Which people a key may see: consent for its purposes, and its regions.

`consenting` is the one place the read API asks about consent. It reads each profile's consent
records from the profile timeline (the OneTrust `consent` records stitching put there) and takes
the newest decision per purpose as the govern step does (hub/governance/consent.py
`latest_consents`: at one instant the most cautious decision wins). A key's purposes are
consent-system purposes and the rule is opt-in: only `granted` shares.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from hub.governance.consent import latest_consents
from hub.readapi.scope import Scope
from hub.readapi.warehouse import Warehouse

__all__ = ["consenting", "visible_profiles", "profile_if_visible", "GRANTED"]

GRANTED = "granted"


def consenting(warehouse: Warehouse, profile_ids: Collection[str], purposes: Sequence[str]) -> set[str]:
    """The profiles whose latest consent for every purpose is `granted`.

    No consent record for a purpose is no consent; at the same instant the most cautious wins.
    """
    if not purposes:
        return set(profile_ids)
    records: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for pid, purpose, event, at in warehouse.consents(profile_ids):
        records[pid].append({"purpose": purpose, "event": event, "occurred_at": at})
    return {pid for pid in profile_ids if _granted(records.get(pid, ()), purposes)}


def _granted(records: Iterable[dict[str, Any]], purposes: Sequence[str]) -> bool:
    latest = latest_consents(records)
    return all(latest.get(p.strip().lower(), ("",))[0] == GRANTED for p in purposes)


def profile_if_visible(
    warehouse: Warehouse, scope: Scope, profile_id: str
) -> tuple[dict[str, Any] | None, bool]:
    """One profile's row and whether a key with `scope` may see it (`visible_profiles` for one
    id; its consent records read with the row in one statement where the warehouse can)."""
    row, consents = warehouse.profile_with_consents(profile_id)
    if row is None:
        return None, False
    if consents is None:  # the consent records are elsewhere: the general path
        return row, profile_id in visible_profiles(warehouse, scope, [profile_id])
    if scope.regions and not scope.in_region(row.get("country")):
        return row, False
    if not scope.purposes:
        return row, True
    records = [{"purpose": p, "event": e, "occurred_at": at} for p, e, at in consents]
    return row, _granted(records, scope.purposes)


def visible_profiles(warehouse: Warehouse, scope: Scope, profile_ids: Collection[str]) -> set[str]:
    """The profiles a key with `scope` may see: in its regions, and consenting to its purposes."""
    ids = set(profile_ids)
    if scope.regions and ids:
        countries = warehouse.countries(ids)
        ids = {pid for pid in ids if scope.in_region(countries.get(pid))}
    return consenting(warehouse, ids, scope.purposes) if ids else ids
