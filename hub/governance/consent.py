"""Does a person's consent cover a purpose? One answer, used by the govern step and the read API.

A hub purpose (`email_marketing`) is served by one or more consent-system purposes
(`marketing emails`, `newsletter`): the newest decision among them rules. The person's
region decides which statuses allow: opt-in regions only `granted`, opt-out regions all
but `withdrawn`; with no decision at all, opt-out allows and opt-in does not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from hub.errors import ConfigError
from hub.governance.config import GovernanceConfig, RegionRule

__all__ = [
    "Latest",
    "consent_allows",
    "consent_verdict",
    "latest_consents",
    "ruling_status",
    "status_verdict",
    "when_key",
]

# consent-system purpose -> (status, when): the newest decision per purpose
Latest = dict[str, tuple[str, str]]


def when_key(value: Any) -> str:
    """A sortable text of a timestamp, whether the warehouse gave a datetime or a string."""
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value or "").replace(" ", "T")


def _caution(status: str) -> int:
    """At one instant the most cautious decision wins: withdrawn, then anything but granted."""
    return 2 if status == "withdrawn" else int(status != "granted")


def latest_consents(rows: Iterable[Mapping[str, Any]], into: Latest | None = None) -> Latest:
    """The newest decision per consent-system purpose among canonical `consent` rows
    (`purpose`, `event`, `occurred_at`). At the same instant the most cautious wins."""
    latest: Latest = {} if into is None else into
    for row in rows:
        purpose = str(row.get("purpose") or "").strip().lower()
        if not purpose:
            continue
        status, when = str(row.get("event") or ""), when_key(row.get("occurred_at"))
        before = latest.get(purpose)
        if before is None or (when, _caution(status)) > (before[1], _caution(before[0])):
            latest[purpose] = (status, when)
    return latest


def ruling_status(latest: Mapping[str, tuple[str, str]], served_by: Sequence[str]) -> str | None:
    """The status of the newest decision among the consent-system purposes that serve a hub
    purpose (at one instant the most cautious); None: no decision recorded."""
    if not latest:  # most people: no decision at all
        return None
    if len(served_by) == 1:
        one = latest.get(served_by[0])
        return one[0] if one else None
    found = [latest[p] for p in served_by if p in latest]
    if not found:
        return None
    return max(found, key=lambda sw: (sw[1], _caution(sw[0])))[0]


def status_verdict(status: str | None, rule: RegionRule) -> tuple[bool, str]:
    """(allowed, why) for a ruling status (None: no decision recorded) under a region's rule."""
    if status is None:
        return rule.allow_missing, "no consent recorded"
    return status in rule.allowed_statuses, f"latest consent {status}"


def consent_verdict(
    latest: Mapping[str, tuple[str, str]], purpose: str, rule: RegionRule, config: GovernanceConfig
) -> tuple[bool, str]:
    """(allowed, why): `latest` from latest_consents, the region's rule."""
    served_by = config.purposes[purpose].consent
    if served_by == "none":
        return True, "no consent needed"
    return status_verdict(ruling_status(latest, served_by), rule)


def consent_allows(
    profile_consents: Iterable[Mapping[str, Any]], purpose: str, region: str | None, config: GovernanceConfig
) -> bool:
    """Does this person's consent cover hub `purpose`, for a person of `region` (None: unknown,
    which follows `governance.unknown_region`, the strictest rule by default)?

    `profile_consents` are the person's canonical consent rows (`purpose`, `event`,
    `occurred_at`), e.g. their timeline's consent records; order does not matter."""
    if purpose not in config.purposes:
        raise ConfigError(f"unknown purpose `{purpose}`; declared: {sorted(config.purposes)}")
    allowed, _ = consent_verdict(latest_consents(profile_consents), purpose, config.rule_for(region), config)
    return allowed
