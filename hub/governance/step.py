"""The govern step (`read -> map -> govern -> write -> checkpoint`): a stream's policies applied
to each mapped batch, every decision counted, every held-back record kept with its rule.

Built per stream job by `governor_for` from crossdock.yaml's `governance:` block and the
connection's declared purpose and region; the people (consents, countries, profiles) are read
from the warehouse on the first batch, so a run reads them once and sees the latest sync.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hub.canonical import PERSON_ENTITIES
from hub.governance.config import GovernanceConfig
from hub.governance.people import Person, PersonIndex
from hub.governance.policies import (
    ConsentPolicy,
    PiiPolicy,
    Policy,
    RegionPolicy,
    StockPolicy,
    looks_like_pii,
)

__all__ = ["WITHDRAW_FIELD", "GovernedBatch", "Governor", "build_policies", "token_key"]

# A write-back row a consent policy withdrew carries this (the rule); the write-back
# destination unsubscribes / removes the person instead of sending the row.
WITHDRAW_FIELD = "_cd_withdraw"
_SCAN_LIMIT = 1000  # rows per batch scanned for unclassified PII: a report, not a gate


@dataclass
class GovernedBatch:
    rows: list[dict[str, Any]]  # what may go on (withdrawn rows included, marked)
    kept_index: list[int]  # position of each row in the mapped batch
    decisions: list[dict[str, object]]  # drop / withdraw, one per record


@dataclass
class Governor:
    """Applies `policies` in order; the first that drops or withdraws a row decides it."""

    connection: str
    stream: str
    entity: str
    policies: list[Policy]
    key_fields: tuple[str, ...]
    load_people: Callable[[], PersonIndex]
    unclassified: tuple[str, ...] = ()  # string fields not marked pii, scanned for PII patterns
    counts: Counter[str] = field(default_factory=Counter)
    scan: Counter[str] = field(default_factory=Counter)
    _people: PersonIndex | None = None

    @property
    def about_people(self) -> bool:
        return self.entity in PERSON_ENTITIES

    def people(self) -> PersonIndex:
        if self._people is None:
            self._people = self.load_people()
        return self._people

    def apply(self, rows: Sequence[dict[str, Any]], run_id: str) -> GovernedBatch:
        about_people = self.about_people
        active = [p for p in self.policies if about_people or not p.person_rows_only]
        # the people are read only when a policy speaks about them (not for stock alone)
        people = self.people() if any(p.person_rows_only for p in active) else None
        find = people.person if people is not None else None
        decide = [p.decide for p in active]
        kept: list[dict[str, Any]] = []
        kept_index: list[int] = []
        decisions: list[dict[str, object]] = []
        counts = self.counts
        connection, stream, key_fields = self.connection, self.stream, self.key_fields
        keep, keep_index, record = kept.append, kept_index.append, decisions.append
        for i, row in enumerate(rows):  # the hot loop: 1M rows in bench/governance.py
            person: Person | None = find(row) if find is not None else None
            for policy_decide in decide:
                decision = policy_decide(row, person)
                if decision is None:
                    continue
                counts[decision.counted] += 1
                if decision.action == "change":
                    continue
                record(
                    {
                        "run_id": run_id,
                        "connection": connection,
                        "stream": stream,
                        "record_key": ":".join([str(row.get(k)) for k in key_fields]),
                        "profile_id": person.profile_id if person else None,
                        "rule": decision.rule,
                        "action": decision.action,
                        "reason": decision.reason,
                    }
                )
                if decision.action == "withdraw":
                    row[WITHDRAW_FIELD] = decision.rule
                    keep(row)
                    keep_index(i)
                break
            else:  # no policy stopped it
                keep(row)
                keep_index(i)
        self._scan(rows)
        return GovernedBatch(kept, kept_index, decisions)

    def _scan(self, rows: Sequence[dict[str, Any]]) -> None:
        for row in rows[:_SCAN_LIMIT]:
            for name in self.unclassified:
                if looks_like_pii(row.get(name)):
                    self.scan[name] += 1

    def pii_rules(self) -> list[str]:
        """The destination's PII rules in force (`pii.email.hash`): they apply to every row."""
        return [
            f"pii.{f}.{a}" for p in self.policies if isinstance(p, PiiPolicy) for f, a in p.actions.items()
        ]

    def report(self) -> dict[str, Any] | None:
        """Per-stream counts for the run summary and the audit log: rule names, no values."""
        if not self.counts and not self.scan:
            return None
        by_action: Counter[str] = Counter()
        for key, n in self.counts.items():
            by_action[key.split(":", 1)[0]] += n
        return {
            "dropped": by_action["drop"],
            "withdrawn": by_action["withdraw"],
            "changed": by_action["change"],
            "rules": dict(sorted(self.counts.items())),
            **({"unclassified_pii": dict(self.scan)} if self.scan else {}),
        }


def build_policies(
    config: GovernanceConfig,
    connection: str,
    purpose: str,
    region: str,
    writes_back: bool,
    token_key: bytes,
    stock: Callable[[], dict[str, int]] | None = None,
) -> list[Policy]:
    """The policies of one destination, in the order they decide: region, consent, stock, PII.
    `stock` (the available units per SKU, read when first needed) is given for offer streams."""
    policies: list[Policy] = []
    if config.governs:
        policies += [RegionPolicy(region, config), ConsentPolicy(purpose, config, withdraw=writes_back)]
    if stock is not None and config.stock is not None:
        policies.append(StockPolicy(config.stock, stock))
    pii = config.pii.get(connection)
    if pii:
        policies.append(PiiPolicy(pii, token_key))
    return policies


def token_key(pseudonym_key: bytes) -> bytes:
    """The tokenising key: derived from the workspace keyring, so tokens are stable per workspace."""
    return hmac.new(pseudonym_key, b"crossdock governance tokens", hashlib.sha256).digest()
