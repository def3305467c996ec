"""The govern step (`read -> map -> govern -> write -> checkpoint`): a stream's policies applied
to each mapped batch, every decision counted, every held-back record kept with its rule.

Built per stream job by `governor_for` from crossdock.yaml's `governance:` block and the
connection's declared purpose and region; the people (consents, countries, profiles) are read
from the warehouse on the first batch, so a run reads them once and sees the latest sync.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hub.canonical import PERSON_ENTITIES
from hub.governance.config import GovernanceConfig
from hub.governance.people import Person, PersonIndex
from hub.governance.policies import (
    ConsentPolicy,
    Decision,
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
# people whose verdict a Governor remembers (a run's distinct people, as the people index)
_VERDICTS_KEPT = 1_000_000


# a row's person, the decision about them (None: allowed) and its decision record sans key
_Verdict = tuple[Person | None, Decision | None, dict[str, object] | None]
_ALLOWED: _Verdict = (None, None, None)


@dataclass
class GovernedBatch:
    rows: list[dict[str, Any]]  # what may go on (withdrawn rows included, marked)
    kept_index: list[int]  # position of each row in the mapped batch
    decisions: list[dict[str, object]]  # drop / withdraw, one per record


@dataclass
class Governor:
    """Applies `policies` in order; the first that drops or withdraws a row decides it.

    The policies about people (region, consent: `person_rows_only`) come first and decide on
    the person alone, so their verdict is made once per person (`PersonIndex.keys`) and reused
    for every later row of that person; the others (stock) are asked per row; the PII policy,
    last, transforms the rows that go on a field at a time over the whole batch."""

    connection: str
    stream: str
    entity: str
    policies: list[Policy]
    key_fields: tuple[str, ...]
    load_people: Callable[[], PersonIndex]
    unclassified: tuple[str, ...] = ()  # string fields not marked pii, scanned for PII patterns
    counts: Counter[str] = field(default_factory=Counter)
    scan: Counter[str] = field(default_factory=Counter)
    # what `plan` stores per run (explain-decision): the destination's purpose and region, the
    # policy's hash, a SQL destination's table (None: a SaaS destination)
    purpose: str | None = None
    region: str | None = None
    policy_hash: str | None = None
    table: str | None = None
    planned: str | None = None  # the run whose plan is stored
    _people: PersonIndex | None = None
    # person key -> its verdict (the Person, the first decision of the person policies or None,
    # the decision record of a held-back row without its key), for the run `_run_id`
    _verdicts: dict[tuple[Any, ...], _Verdict] = field(default_factory=dict)
    _run_id: str | None = None
    _judge: Callable[[dict[str, Any]], _Verdict] | None = None

    @property
    def about_people(self) -> bool:
        return self.entity in PERSON_ENTITIES

    def people(self) -> PersonIndex:
        if self._people is None:
            self._people = self.load_people()
        return self._people

    def apply(self, rows: Sequence[dict[str, Any]], run_id: str) -> GovernedBatch:
        # build_policies puts the person policies first: asking them first keeps the order
        on_person = [p for p in self.policies if p.person_rows_only] if self.about_people else []
        pii = [p for p in self.policies if isinstance(p, PiiPolicy)]
        on_row = [p.decide for p in self.policies if not p.person_rows_only and p not in pii]
        if run_id != self._run_id:  # the verdicts carry their run's decision record
            self._verdicts, self._run_id, self._judge = {}, run_id, None
        decisions: list[dict[str, object]] = []
        judged: list[_Verdict]
        if on_person:  # the people are read only when a policy speaks about them (not for stock alone)
            judged = self._judged(rows, on_person, run_id)
        else:
            judged = [_ALLOWED] * len(rows)
        if on_row:  # stock: asked per row the person policies let through
            for i, (row, (person, decision, _)) in enumerate(zip(rows, judged, strict=True)):
                if decision is None:
                    for policy_decide in on_row:
                        decision = policy_decide(row, person)
                        if decision is not None:
                            judged[i] = (person, decision, self._record(person, decision, run_id))
                            break
        # one decision record per held-back or withdrawn row: a copy of its verdict's, keyed
        held = [i for i, verdict in enumerate(judged) if verdict[2] is not None]
        if held:
            record, record_key, counted = decisions.append, _record_key(self.key_fields), []
            withdrawing = False
            for i in held:
                row, (_, decision, made) = rows[i], judged[i]
                assert decision is not None and made is not None
                kept_record = made.copy()
                kept_record["record_key"] = record_key(row)
                record(kept_record)
                counted.append(decision.counted)
                if decision.action == "withdraw":  # goes on, marked, unchanged: the key is needed
                    row[WITHDRAW_FIELD] = decision.rule
                    withdrawing = True
            self.counts.update(counted)
            kept_index = [
                i
                for i, (_, d, _) in enumerate(judged)
                if d is None or (withdrawing and d.action == "withdraw")
            ]
            kept = [rows[i] for i in kept_index]
            passed = [rows[i] for i in kept_index if judged[i][1] is None] if withdrawing else kept
        else:  # the usual batch: everything goes on
            kept, kept_index = list(rows), list(range(len(rows)))
            passed = kept
        for policy in pii:  # on the rows that go on, not withdrawn
            for change, n in policy.transform_rows(passed).items():
                self.counts[change.counted] += n
        self._scan(rows)
        return GovernedBatch(kept, kept_index, decisions)

    def _judged(self, rows: Sequence[dict[str, Any]], on_person: list[Policy], run_id: str) -> list[_Verdict]:
        """Each row's verdict, a batch at a time: a person met before costs a lookup (the key is
        what decides who a row is about: `PersonIndex.keys`), a new one a `_judge`."""
        verdicts = self._verdicts
        get = verdicts.get
        judged: list[_Verdict | None] = [
            get(
                (
                    row.get("source_id") if row.get("source") == "crossdock" else None,
                    row.get("email"),
                    row.get("country"),
                )
            )
            for row in rows
        ]
        misses = [i for i, hit in enumerate(judged) if hit is None]
        if misses:
            judge = self._judge or self._make_judge(on_person, run_id)
            for i in misses:
                row = rows[i]
                key = (
                    row.get("source_id") if row.get("source") == "crossdock" else None,
                    row.get("email"),
                    row.get("country"),
                )
                hit = get(key)
                if hit is None:
                    hit = judge(row)
                    if len(verdicts) < _VERDICTS_KEPT:
                        verdicts[key] = hit
                judged[i] = hit
        return judged  # type: ignore[return-value]  # every None was replaced

    def _make_judge(self, on_person: list[Policy], run_id: str) -> Callable[[dict[str, Any]], _Verdict]:
        """The verdict of a row's person, chosen once per run: the person policies decide on the
        person alone, so someone the people index does not know (no profile, no consent: most
        rows of a first sync) gets the one verdict of their region."""
        people = self.people()
        anonymous: dict[str | None, _Verdict] = {}
        record = self._record

        def full(row: dict[str, Any]) -> _Verdict:
            person = people.person(row)
            for policy in on_person:
                decision = policy.decide(row, person)
                if decision is not None:
                    return person, decision, record(person, decision, run_id)
            return person, None, None

        def judge(row: dict[str, Any]) -> _Verdict:
            unknown, region = people.unknown(row)
            if not unknown:
                return full(row)
            hit = anonymous.get(region)
            if hit is None:
                hit = anonymous[region] = full(row)
            return hit

        self._judge = judge
        return judge

    def _record(self, person: Person | None, decision: Decision, run_id: str) -> dict[str, object]:
        """The decision record of a row held back by `decision`, without its record key."""
        return {
            "run_id": run_id,
            "connection": self.connection,
            "stream": self.stream,
            "record_key": None,
            "profile_id": person.profile_id if person else None,
            "rule": decision.rule,
            "action": decision.action,
            "reason": decision.reason,
        }

    def _scan(self, rows: Sequence[dict[str, Any]]) -> None:
        """Counts the scanned rows whose unclassified fields look like PII: each distinct value
        is tested once (most repeat: cities, stages)."""
        sample = rows[:_SCAN_LIMIT]
        for name in self.unclassified:
            values = Counter([v for row in sample if type(v := row.get(name)) is str])
            found = sum(n for value, n in values.items() if looks_like_pii(value))
            if found:
                self.scan[name] += found

    def plan(self, run_id: str) -> dict[str, object]:
        """The stream's plan in this run, stored once per run (`GovernancePlan`): the PII rule
        of each field (keep included) is the same for every row that goes on, so a record's
        PII changes are explained from it, not written per record on the hot path."""
        rules = [
            [f, a, f"pii.{f}.{a}"]
            for p in self.policies
            if isinstance(p, PiiPolicy)
            for f, a in p.configured.items()
        ]
        return {
            "run_id": run_id,
            "connection": self.connection,
            "stream": self.stream,
            "entity": self.entity,
            "purpose": self.purpose,
            "region": self.region,
            "policy_hash": self.policy_hash,
            "key_fields": json.dumps(list(self.key_fields)),
            "pii_rules": json.dumps(rules),
            "destination_table": self.table,
        }

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


def _record_key(fields: tuple[str, ...]) -> Callable[[dict[str, Any]], str]:
    """`source:id` of a row, as the decisions table keys it (a plain function for the usual two)."""
    if len(fields) == 2:
        first, second = fields
        return lambda row: f"{row.get(first)}:{row.get(second)}"
    return lambda row: ":".join([str(row.get(k)) for k in fields])


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
