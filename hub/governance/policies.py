"""The policies, each one small class behind one contract: `decide(row, person) -> Decision | None`.

None means the policy has nothing to say (the row goes on unchanged). A policy that changes
the row (PII) changes it in place and says so; one that stops it says `drop`, or `withdraw`
when the destination must be told the person left (a write-back of a withdrawn consent).
Rules are names (`consent.email_marketing`), reasons are words: never a value of the row.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from hub.governance.config import GovernanceConfig, PiiAction, StockRule
from hub.governance.consent import ruling_status, status_verdict
from hub.governance.people import Person

__all__ = [
    "Action",
    "Decision",
    "Policy",
    "ConsentPolicy",
    "RegionPolicy",
    "PiiPolicy",
    "StockPolicy",
    "normalise",
    "looks_like_pii",
]

Action = Literal["drop", "withdraw", "change"]


@dataclass(frozen=True)
class Decision:
    action: Action
    rule: str
    reason: str
    counted: str = field(init=False)  # "action:rule", the run summary's key

    def __post_init__(self) -> None:
        object.__setattr__(self, "counted", f"{self.action}:{self.rule}")


class Policy(Protocol):
    name: str
    # consent and region speak about people, and decide on the person alone (the govern step
    # asks them once per person of a run, before the others); PII and stock speak about any row
    person_rows_only: bool

    def decide(self, row: dict[str, Any], person: Person | None) -> Decision | None: ...


class RegionPolicy:
    """A person's data goes only to destinations whose region their region allows."""

    name, person_rows_only = "region", True

    def __init__(self, destination_region: str, config: GovernanceConfig) -> None:
        self.region, self.config = destination_region, config
        self._decided: dict[str | None, Decision | None] = {}  # per person region: decided once

    def decide(self, row: dict[str, Any], person: Person | None) -> Decision | None:
        region = person.region if person else None
        if region in self._decided:
            return self._decided[region]
        decision = None
        if self.region not in self.config.rule_for(region).send_to:
            who = region or "unknown"
            decision = Decision(
                "drop", f"region.{who}", f"a person of region {who} may not go to region {self.region}"
            )
        self._decided[region] = decision
        return decision


class ConsentPolicy:
    """A person goes to a destination of purpose P only if their latest consent for P allows it.
    On a write-back the denial is a withdrawal: the destination unsubscribes or removes them."""

    name, person_rows_only = "consent", True

    def __init__(self, purpose: str, config: GovernanceConfig, withdraw: bool) -> None:
        self.purpose, self.config = purpose, config
        self.action: Action = "withdraw" if withdraw else "drop"
        self.rule = f"consent.{purpose}"
        self._free = config.purposes[purpose].consent == "none"
        self._served_by = () if self._free else tuple(config.purposes[purpose].consent)
        self._verdicts: dict[tuple[str | None, str | None], Decision | None] = {}

    def decide(self, row: dict[str, Any], person: Person | None) -> Decision | None:
        if self._free:
            return None
        region = person.region if person else None
        # the verdict rests only on the region and the ruling status (most people have none):
        # decided once per such pair (and the govern step asks once per person)
        status = ruling_status(person.latest, self._served_by) if person else None
        key = (region, status)
        if key in self._verdicts:
            return self._verdicts[key]
        allowed, why = status_verdict(status, self.config.rule_for(region))
        decision = self._verdicts[key] = (
            None if allowed else Decision(self.action, self.rule, f"{why} (region {region or 'unknown'})")
        )
        return decision


_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_PHONE = re.compile(r"\+?\d[\d ().-]{7,}\d")


_NON_DIGIT = re.compile(r"\D")


def normalise(field: str, value: Any) -> str:
    """What ad platforms hash: emails trimmed and lower case, phones digits only."""
    text = str(value).strip()
    if field == "phone" or field.endswith("_phone"):
        return _digits(text)
    return text.lower()


def _digits(text: str) -> str:
    """`text` without its non-digits (`\\D`): most phones are digits, or `+` and digits."""
    if text.isdecimal():  # exactly the characters `\\d` matches
        return text
    if text[:1] == "+" and text[1:].isdecimal():
        return text[1:]
    return _NON_DIGIT.sub("", text)


def _mask(value: Any) -> str:
    text = str(value)
    if "@" in text:
        local, _, domain = text.partition("@")
        return f"{local[:1]}***@{domain}"
    return f"{text[:1]}***" if text else text


def looks_like_pii(value: Any) -> bool:
    return isinstance(value, str) and bool(_EMAIL.search(value) or _PHONE.search(value))


class PiiPolicy:
    """Each configured PII field of the destination kept, hashed, tokenised, masked or dropped."""

    name, person_rows_only = "pii", False

    def __init__(self, actions: Mapping[str, PiiAction], token_key: bytes) -> None:
        self.configured = dict(actions)  # keep included: what explain-decision shows
        self.actions = {f: a for f, a in actions.items() if a != "keep"}
        self._token = _hmac_sha256_hex(token_key)
        self._rules = {f: f"pii.{f}.{a}" for f, a in self.actions.items()}
        self._bits = {f: 1 << i for i, f in enumerate(self.actions)}
        self._decisions: dict[int, Decision] = {}
        # one plain function per field, chosen once (the per-row loop only calls them); the
        # hashes and tokens are remembered per value (a person's email repeats across rows)
        self._steps: list[tuple[str, int, Callable[[Any], Any], dict[str, Any] | None]] = [
            (f, self._bits[f], self._compile(f, a), {} if a in ("hash", "tokenise") else None)
            for f, a in self.actions.items()
        ]

    def _compile(self, field: str, action: PiiAction) -> Callable[[Any], Any]:
        phone = field == "phone" or field.endswith("_phone")
        sha256, token = hashlib.sha256, self._token
        if action == "hash" and not phone:
            return lambda v: sha256(str(v).strip().lower().encode()).hexdigest()
        if action == "tokenise" and not phone:
            return lambda v: "tok_" + token(str(v).strip().lower().encode())[:32]
        if action == "hash":  # a phone: digits only
            return lambda v: sha256(_digits(str(v)).encode()).hexdigest()
        if action == "drop":
            return lambda v: None
        return lambda v: self.transform(field, action, v)

    def transform(self, field: str, action: PiiAction, value: Any) -> Any:
        if action == "drop":
            return None
        if action == "mask":
            return _mask(value)
        text = normalise(field, value).encode()
        if action == "hash":
            return hashlib.sha256(text).hexdigest()
        return "tok_" + self._token(text)[:32]  # tokenise

    def decide(self, row: dict[str, Any], person: Person | None) -> Decision | None:
        changes = self.transform_rows([row])
        return next(iter(changes), None)

    def transform_rows(self, rows: Sequence[dict[str, Any]]) -> dict[Decision, int]:
        """Each row's PII fields changed in place, a field at a time over the batch (the loop
        is the same for every row: no call per row); returns how many rows each combination of
        changed fields (one Decision) was made on. Only the rows a field was not changed on
        (absent, None, empty) are noted: most rows have every field, and get every change."""
        missing: list[tuple[int, list[int]]] = []  # (bit, rows where that field was not changed)
        for name, bit, step, memo in self._steps:
            unchanged: list[int] = []
            skip = unchanged.append
            if memo is None:  # drop, mask: computed each time
                for i, row in enumerate(rows):
                    value = row.get(name)
                    if value is not None and value != "":
                        row[name] = step(value)
                    else:
                        skip(i)
            else:
                remembered = memo.get
                for i, row in enumerate(rows):
                    value = row.get(name)
                    if type(value) is str:
                        if not value:
                            skip(i)
                            continue
                        out = remembered(value)
                        if out is None:
                            out = step(value)
                            if len(memo) >= _REMEMBERED:
                                memo.clear()
                            memo[value] = out
                        row[name] = out
                    elif value is None:
                        skip(i)
                    else:  # not text (a number): computed each time
                        row[name] = step(value)
            if unchanged:
                missing.append((bit, unchanged))
        every = sum(bit for _, bit, _, _ in self._steps)
        if not missing:
            return {self._decision(every): len(rows)} if rows and every else {}
        changed = [every] * len(rows)
        for bit, unchanged in missing:
            for i in unchanged:
                changed[i] &= ~bit
        return {self._decision(bits): n for bits, n in Counter(changed).items() if bits}

    def _decision(self, bits: int) -> Decision:
        found = self._decisions.get(bits)
        if found is None:  # one Decision per combination of fields changed
            rules = ",".join(r for f, r in self._rules.items() if bits & self._bits[f])
            found = self._decisions[bits] = Decision("change", rules, "PII fields transformed")
        return found


# Text values per PII field whose hash or token is remembered: a person's email repeats across
# rows. A plain dict of str (not an LRU of linked nodes: those are objects the garbage collector
# walks, which cost more than the hashes saved), emptied when full: ~50 MB for a hashed field
# (the distinct values of 1M rows of 400,000 people fit: each is hashed once).
_REMEMBERED = 1 << 18


def _hmac_sha256_hex(key: bytes) -> Callable[[bytes], str]:
    """HMAC-SHA256 keyed once: each token copies the keyed state (the stdlib's `HMAC.copy`)
    instead of setting the key up again per value."""
    keyed = hmac.new(key, digestmod=hashlib.sha256)

    def digest(data: bytes) -> str:
        h = keyed.copy()
        h.update(data)
        return h.hexdigest()

    return digest


class StockPolicy:
    """An offer for a SKU whose available stock (all locations) is below its threshold is held
    back. Nothing is remembered: once a later inventory sync shows the stock recovered, the
    offer is no longer held and the write-back sends it (it was never in the snapshot)."""

    name, person_rows_only = "stock", False

    def __init__(self, rule: StockRule, load: Callable[[], Mapping[str, int]]) -> None:
        self.rule, self._load = rule, load
        self._stock: Mapping[str, int] | None = None  # read on the first row: the latest sync

    def decide(self, row: dict[str, Any], person: Person | None) -> Decision | None:
        sku = row.get("sku")
        if not sku:
            return None  # the offer entity requires it: the mapping dead-letters such a row
        if self._stock is None:
            self._stock = self._load()
        pid, coll = row.get("product_id"), row.get("collection")
        threshold, rule = self.rule.threshold(
            str(sku), None if pid is None else str(pid), None if coll is None else str(coll)
        )
        available = self._stock.get(str(sku))
        if (available or 0) >= threshold:
            return None
        why = (
            "no inventory recorded for the SKU"
            if available is None
            else f"available stock {available} is below the threshold {threshold}"
        )
        return Decision("drop", rule, why)
