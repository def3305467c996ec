"""Profiles from clusters: ids that stay put, golden records and timelines.

Id rules (docs/identity.md): a cluster takes the id of the earlier profile
holding most of its records (ties: the smaller id); a profile whose records now
sit in a cluster named otherwise redirects to that cluster's id (a merge); the
part of a split profile with fewer records gets a new id. A cluster with no
earlier records gets an id derived from its first record key, so a full
rebuild from nothing names profiles the same way every time.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from hub.identity.config import IdentityConfig
from hub.identity.stitching import profile_id_for

__all__ = ["assign_profile_ids", "golden_record", "timeline_events", "GOLDEN_FIELDS"]

GOLDEN_FIELDS = ("email", "phone", "first_name", "last_name", "city", "country", "lifecycle_stage")


def assign_profile_ids(
    clusters: Sequence[Sequence[str]], previous: Mapping[str, str]
) -> tuple[list[str], dict[str, str]]:
    """Profile id per cluster, and old id -> new id for profiles merged into another."""
    claims: list[tuple[int, str, int]] = []
    for ci, keys in enumerate(clusters):
        counts = Counter(previous[k] for k in keys if k in previous)
        claims.extend((-n, pid, ci) for pid, n in counts.items())
    claims.sort()
    names: dict[int, str] = {}
    owner: dict[str, int] = {}
    for _, pid, ci in claims:
        if pid not in owner and ci not in names:
            owner[pid], names[ci] = ci, pid
    taken = set(previous.values())
    for ci, keys in enumerate(clusters):
        if ci in names:
            continue
        pid, n = profile_id_for(list(keys)), 0
        while pid in taken or pid in owner:  # e.g. a split-off part whose first key named the old one
            n += 1
            pid = "p_" + hashlib.sha256(f"{min(keys)}|{n}".encode()).hexdigest()[:16]
        names[ci], owner[pid] = pid, ci
    ids = [names[ci] for ci in range(len(clusters))]
    # An earlier profile that names no cluster now: its records went elsewhere.
    where: dict[str, Counter[str]] = {}
    for ci, keys in enumerate(clusters):
        for k in keys:
            old = previous.get(k)
            if old is not None and old not in owner:
                where.setdefault(old, Counter())[ids[ci]] += 1
    redirects = {old: min(c.items(), key=lambda kv: (-kv[1], kv[0]))[0] for old, c in where.items()}
    return ids, redirects


def _when(record: Mapping[str, Any]) -> str:
    value = record.get("updated_at") or record.get("created_at")
    return value.isoformat() if isinstance(value, datetime) else str(value or "")


def golden_record(records: Sequence[Mapping[str, Any]], config: IdentityConfig) -> dict[str, Any]:
    """One value per field, chosen by the field's survivorship rule; ties go to the newer record."""
    newest_first = sorted(records, key=lambda r: (_when(r), str(r.get("source_id"))), reverse=True)
    priority = {s: i for i, s in enumerate(config.source_priority)}
    golden: dict[str, Any] = {}
    for name in GOLDEN_FIELDS:
        candidates = [r for r in newest_first if r.get(name) not in (None, "")]
        if not candidates:
            golden[name] = None
            continue
        rule = config.survivorship.get(name, config.default_survivorship)
        if rule == "most_frequent":
            counts = Counter(r[name] for r in candidates)
            best = max(counts.values())
            golden[name] = next(r[name] for r in candidates if counts[r[name]] == best)
        elif rule == "source_priority":
            golden[name] = min(candidates, key=lambda r: priority.get(str(r.get("source")), len(priority)))[
                name
            ]
        else:
            golden[name] = candidates[0][name]
    return golden


def timeline_events(
    profile_id: str, record_key: str, record: Mapping[str, Any], entity: str
) -> list[dict[str, Any]]:
    """The events one record contributes to its profile's timeline.

    An event-shaped record (an email open, a consent change) carries `occurred_at`
    and `event`; any other record (a contact, a ticket, an order) contributes
    when it was created and when it last changed.
    """
    base = {
        "profile_id": profile_id,
        "record_key": record_key,
        "source": record.get("source"),
        "stream": record.get("_table") or "",
    }
    if record.get("occurred_at"):
        return [
            {
                **base,
                "occurred_at": record["occurred_at"],
                "event": f"{entity} {record.get('event') or 'event'}",
            }
        ]
    events = []
    if record.get("created_at"):
        events.append({**base, "occurred_at": record["created_at"], "event": f"{entity} created"})
    if record.get("updated_at") and record.get("updated_at") != record.get("created_at"):
        events.append({**base, "occurred_at": record["updated_at"], "event": f"{entity} updated"})
    return events
