"""Who a row is about: their profile, region and latest consents, read once per stream.

Consents come from the stream `governance.consents` names (canonical `consent` rows, e.g.
OneTrust's purpose_consents); the profile tables of `crossdock stitch` put them on profiles
(profile_timeline's consent records) and give each profile its emails and country. A row
is found by its profile id (a write-back of profiles: `source` crossdock, `source_id` the
profile id), else by its email. A consent no profile holds yet still counts, by its email.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, NamedTuple

from hub.governance.config import GovernanceConfig
from hub.governance.consent import Latest, latest_consents

__all__ = ["Person", "PersonIndex"]


class Person(NamedTuple):  # a tuple: made once per person of a run, quickly
    profile_id: str | None
    region: str | None  # None: unknown (no country, or one no region lists)
    latest: Mapping[str, tuple[str, str]]  # consent-system purpose -> (status, when)


@dataclass
class PersonIndex:
    config: GovernanceConfig
    by_profile: dict[str, Latest] = field(default_factory=dict)
    by_email: dict[str, Latest] = field(default_factory=dict)
    profile_of_email: dict[str, str] = field(default_factory=dict)
    country_of: dict[str, str | None] = field(default_factory=dict)
    _regions: dict[str, str] = field(default_factory=dict)  # country (lower case) -> region

    def __post_init__(self) -> None:
        self._regions = {
            c.strip().lower(): r for r, rule in self.config.regions.items() for c in rule.countries
        }

    @classmethod
    def build(
        cls,
        config: GovernanceConfig,
        consents: Iterable[Mapping[str, Any]],
        profiles: Iterable[Mapping[str, Any]] = (),
        identifiers: Iterable[Mapping[str, Any]] = (),
        timeline: Iterable[Mapping[str, Any]] = (),
    ) -> PersonIndex:
        index = cls(config)
        for p in profiles:
            pid = str(p["profile_id"])
            index.country_of[pid] = p.get("country")
            if p.get("email"):
                index.profile_of_email.setdefault(str(p["email"]).strip().lower(), pid)
        for ident in identifiers:
            if ident.get("type") == "email" and ident.get("value"):
                index.profile_of_email.setdefault(
                    str(ident["value"]).strip().lower(), str(ident["profile_id"])
                )
        # profile_timeline names a consent record `<source>:consent:<source_id>`
        owner = {
            str(t["record_key"]): str(t["profile_id"])
            for t in timeline
            if str(t.get("event") or "").startswith("consent ")
        }
        for row in consents:
            owned = owner.get(f"{row.get('source')}:consent:{row.get('source_id')}")
            if owned is not None:
                latest_consents([row], index.by_profile.setdefault(owned, {}))
            email = str(row.get("email") or "").strip().lower()
            if email:
                latest_consents([row], index.by_email.setdefault(email, {}))
        return index

    @staticmethod
    def keys(rows: Iterable[Mapping[str, Any]]) -> list[tuple[Any, Any, Any]]:
        """What decides who each row is about, as written: a profile row's id, the email, the
        country. Rows with equal keys are the same Person: the govern step decides once per key
        (a batch at a time: one comprehension, no call per row)."""
        return [
            (
                row.get("source_id") if row.get("source") == "crossdock" else None,
                row.get("email"),
                row.get("country"),
            )
            for row in rows
        ]

    def unknown(self, row: Mapping[str, Any]) -> tuple[bool, str | None]:
        """(True, the row's region) when the row is about nobody the index knows: not a profile
        row, and an email no profile and no consent has. Such a row's Person is the same for
        every row of its region (no profile id, no consents): the govern step decides once per
        region for all of them."""
        if row.get("source") == "crossdock":
            return False, None
        email = row.get("email")
        if isinstance(email, str):
            email = email.strip().lower()
            if email and (email in self.profile_of_email or email in self.by_email):
                return False, None
        country = row.get("country") or None
        return True, self._regions.get(country.strip().lower()) if isinstance(country, str) else None

    def person(self, row: Mapping[str, Any]) -> Person:
        """The person a mapped row is about (the caller remembers it per key: `keys`)."""
        email = row.get("email")
        email = email.strip().lower() if isinstance(email, str) else None
        pid = str(row["source_id"]) if row.get("source") == "crossdock" else None
        if pid is None and email:
            pid = self.profile_of_email.get(email)
        of_profile = self.by_profile.get(pid) if pid else None
        of_email = self.by_email.get(email) if email else None
        # each part is already the newest per purpose (latest_consents made it): one is shared,
        # not copied (nobody changes a Person's consents); two are merged
        latest: Mapping[str, tuple[str, str]] = of_profile or of_email or _NO_CONSENTS
        if of_profile and of_email:
            merged: Latest = {}
            for part in (of_profile, of_email):
                for purpose, (status, when) in part.items():
                    latest_consents([{"purpose": purpose, "event": status, "occurred_at": when}], merged)
            latest = merged
        country = row.get("country") or (self.country_of.get(pid) if pid else None)
        region = self._regions.get(country.strip().lower()) if isinstance(country, str) else None
        return Person(pid, region, latest)


_NO_CONSENTS: Mapping[str, tuple[str, str]] = MappingProxyType({})
