"""Scoring stitched profiles against the sandbox's truth (who each record really is)."""

from __future__ import annotations

from collections import Counter
from typing import Any


def person_of(hub: Any, record: dict[str, Any]) -> object:
    """The sandbox person a profile record was derived from; the record key if nobody's
    (someone only that system knows). CRM contact i+1 is person i."""
    sb, source, sid, key = hub.sandbox, record["source"], record["source_id"], record["record_key"]
    if source == "hubspot":
        return int(sid) - 1
    if source == "zendesk":
        return sb.zendesk.person_of.get(int(sid), key)
    if source == "mailchimp":
        return sb.mailchimp.person_of.get(sid, key)
    if source == "shopify":
        return sb.shopify.person_of.get(int(sid), key)
    if source == "onetrust":
        return sb.onetrust.person_of.get(sid, key)
    return key


def pairwise_scores(hub: Any) -> tuple[float, float]:
    """(precision, recall) of the profiles over all pairs of records."""
    records = hub.rows("profile_records")
    truth = {m["record_key"]: person_of(hub, m) for m in records}
    groups: dict[str, list[object]] = {}
    for m in records:
        groups.setdefault(m["profile_id"], []).append(truth[m["record_key"]])

    def pairs(counts: Any) -> int:
        return sum(n * (n - 1) // 2 for n in counts)

    correct = sum(pairs(Counter(g).values()) for g in groups.values())
    return (
        correct / pairs(len(g) for g in groups.values()),
        correct / pairs(Counter(truth.values()).values()),
    )
