"""`stitch()`: records in, one profile per person out, with the reason for every link.

The order of work: identifiers are normalised (blocked values dropped);
candidate pairs are scored (Fellegi-Sunter, match.py); the deterministic graph
links records sharing an identifier, except pairs the scores veto, with guards
refusing over-merges (graph.py); then confirmed pairs and match links join
clusters, strongest first, through the same guards.
"""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import cast

import numpy as np
import pyarrow as pa

from hub.identity.config import IdentityConfig
from hub.identity.graph import (
    CONSTRAINT_PREFIX,
    GraphEvidence,
    GuardedUnion,
    Identifier,
    Refusal,
    caps_for,
    guard_sets,
    index_identifiers,
    link_by_identifiers,
)
from hub.identity.household import GROUP_SEP, Households, find_households
from hub.identity.match import Blocking, Budget, MatchLink, MatchModel, ScoredPairs, as_text, score_pairs
from hub.identity.normalize import is_blocked, normalizer

__all__ = ["stitch", "StitchResult", "MatchLink", "record_key", "IdentifierExtractor", "profile_id_for"]


@dataclass
class StitchResult:
    keys: list[str]
    labels: np.ndarray  # per record: index of the smallest record of its profile
    identifiers: list[list[Identifier]]
    confidence: np.ndarray  # per record: 1.0 if linked by identifiers, else its best match link
    match_links: list[MatchLink] = field(default_factory=list)
    # Pairs scored at or above review_below, and vetoed ones: the next incremental
    # run's `earlier`.
    scored: ScoredPairs | None = None
    review: list[MatchLink] = field(default_factory=list)
    evidence: GraphEvidence = field(default_factory=GraphEvidence)
    blocked: dict[Identifier, int] = field(default_factory=dict)
    model: MatchModel | None = None
    blocking: Blocking = field(default_factory=Blocking)

    def clusters(self) -> list[list[str]]:
        """Profiles as sorted lists of record keys, sorted by their first key."""
        groups: dict[int, list[str]] = {}
        for key, label in zip(self.keys, self.labels.tolist(), strict=True):
            groups.setdefault(label, []).append(key)
        return sorted((sorted(g) for g in groups.values()), key=lambda g: g[0])

    def scored_links(self) -> list[MatchLink]:
        if self.scored is None:
            return []
        return [self.scored.link(j, self.keys) for j in range(len(self.scored))]

    @property
    def refusals(self) -> list[Refusal]:
        return self.evidence.refusals

    def block_levels(self) -> dict[str, str]:
        """Per record in a group split or skipped by a blocking cap, its levels ("0.2.-1", one
        per rule): the next incremental run's `earlier_levels`. Other records are all 0."""
        levels = self.blocking.levels
        if not levels.size:
            return {}
        return {
            self.keys[i]: ".".join(str(x) for x in levels[i].tolist())
            for i in np.flatnonzero(levels.any(axis=1)).tolist()
        }


def record_key(record: Mapping[str, object], index: int) -> str:
    source, source_id = record.get("source"), record.get("source_id")
    if source in (None, "") or source_id in (None, ""):
        raise ValueError(
            f"record {index} has no `source` and `source_id`; every record needs both "
            "(they say which system and which record it is)"
        )
    return f"{source}:{source_id}"


def profile_id_for(keys: list[str]) -> str:
    """A profile's id when no earlier run named it: derived from its first record key."""
    return "p_" + hashlib.sha256(min(keys).encode()).hexdigest()[:16]


class IdentifierExtractor:
    """Normalised, unblocked identifiers of a record, remembering each raw value's outcome.

    The same raw email or phone turns up in several systems; the memo makes the
    second and later sightings one dictionary lookup.
    """

    def __init__(self, config: IdentityConfig):
        self._rules = [
            (r.field, r.type, normalizer(r.normalize, config.phone_region)) for r in config.identifiers
        ]
        self._blocked_patterns = config.blocked
        # per type: raw value -> (identifier or None if not valid, whether it is blocked)
        self._memo: dict[str, dict[object, tuple[Identifier | None, bool]]] = {
            r.type: {} for r in config.identifiers
        }
        self.blocked: dict[Identifier, int] = {}

    def forget(self) -> None:
        """Drop the memo of raw values seen (memory); `blocked` stays."""
        for memo in self._memo.values():
            memo.clear()

    def __call__(self, record: Mapping[str, object]) -> list[Identifier]:
        out: list[Identifier] = []
        for field_name, type_, normalize in self._rules:
            raw = record.get(field_name)
            if raw is None:
                continue
            memo = self._memo[type_]
            for item in raw if isinstance(raw, list | tuple) else (raw,):
                seen = memo.get(item)
                if seen is None:
                    seen = memo[item] = self._identify(type_, normalize, item)
                ident, blocked = seen
                if ident is None:
                    continue
                if blocked:
                    self.blocked[ident] = self.blocked.get(ident, 0) + 1
                elif ident not in out:
                    out.append(ident)
        # hub.identity.run puts them there as (constraint, side) pairs.
        constraints = cast("list[tuple[str, str]] | None", record.get("_constraints"))
        if constraints:  # splits recorded by `profiles split`
            out.extend((CONSTRAINT_PREFIX + t, v) for t, v in constraints)
        return out

    def _identify(
        self, type_: str, normalize: Callable[[object], str | None], raw: object
    ) -> tuple[Identifier | None, bool]:
        value = normalize(raw)
        if value is None:
            return None, False
        return (type_, value), is_blocked(value, self._blocked_patterns)


def stitch(
    records: Iterable[Mapping[str, object]],
    config: IdentityConfig | None = None,
    *,
    model: MatchModel | None = None,
    changed: Iterable[str] | None = None,
    earlier: Iterable[MatchLink] = (),
    confirmed: Iterable[tuple[str, str]] = (),
    earlier_levels: Mapping[str, str] | None = None,
) -> StitchResult:
    """Cluster records into profiles.

    `model` reuses trained match weights (otherwise EM trains them on this data).
    The incremental run passes `changed` (record keys new or changed since the
    last run) and `earlier` (that run's `scored` pairs): only pairs
    touching a changed record are scored again, the rest are taken from `earlier`.
    With the same model the result equals a full run. `confirmed` pairs of record
    keys (a person said: same) merge first, through the same guards.
    """
    config = config or IdentityConfig()
    records = list(records)
    # Millions of small tuples and no reference cycles: the cyclic collector would
    # rescan every live record again and again (half the time at 1M records).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _stitch(records, config, model, changed, earlier, confirmed, earlier_levels)
    finally:
        if collecting:
            gc.enable()


def _stitch(
    records: list[Mapping[str, object]],
    config: IdentityConfig,
    model: MatchModel | None,
    changed: Iterable[str] | None,
    earlier: Iterable[MatchLink],
    confirmed: Iterable[tuple[str, str]],
    earlier_levels: Mapping[str, str] | None,
) -> StitchResult:
    keys = [record_key(r, i) for i, r in enumerate(records)]
    if len(set(keys)) != len(keys):
        seen: set[str] = set()
        dup = next(k for k in keys if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        raise ValueError(f"record key {dup} appears twice; give each record once (its latest version)")
    extract = IdentifierExtractor(config)
    idents = [extract(r) for r in records]
    extract.forget()  # its memo (a million raw values at 1M records) is not needed again
    caps = caps_for(config, idents)
    # Counted once: the graph does not link by a shared value, and matching compares it as missing.
    index = index_identifiers(idents)
    shared = index.shared(config.shared_threshold)
    # A landline on two first names links (and agrees) only within each name's records.
    households = find_households(records, config, index)
    matching = config.match.enabled and bool(config.match.fields) and len(records) > 1
    pairs, trained, blocking = None, None, Blocking()
    vetoed: dict[tuple[int, int], str] = {}
    if matching:
        # Scores come first: the veto needs them before identifiers link anything.
        columns, nulled = _match_columns(records, idents, config, shared, households)
        changed_mask, reused, levels_before = None, None, None
        if changed is not None:
            wanted = set(changed)
            changed_mask = np.fromiter((k in wanted for k in keys), bool, len(keys))
            # A holder's group depends on the other holders (one leaving can split a group).
            changed_mask |= households.members(len(keys))
            reused = _earlier_pairs(earlier, {k: i for i, k in enumerate(keys)}, len(config.match.fields))
            _mark_sharing_changes(changed_mask, nulled, reused, columns, config)
            if earlier_levels is not None:
                levels_before = _levels_array(keys, earlier_levels, len(config.match.blocking))
        id_types = {r.type for r in config.identifiers}
        # Handed over, not kept: DuckDB copies the columns, and holding them too would
        # keep ~150 MB (1M records) out of DuckDB's share of the budget.
        handed, columns = [columns], {}
        pairs, trained, blocking = score_pairs(
            handed.pop(),
            keys,
            [str(r.get("source")) for r in records],
            config.match,
            model,
            changed_mask,
            identifier_fields=[f.field for f in config.match.fields if f.field in id_types],
            budget=Budget(config.memory_limit, config.threads),
            earlier_levels=levels_before,
        )
        if changed_mask is not None and reused is not None:
            # A changed record's pairs were scored again; the rest are taken from the last run.
            keep = ~(changed_mask[reused.a] | changed_mask[reused.b])
            pairs = pairs.concat(reused.subset(keep))
        vetoed = _vetoed(pairs, idents, config.match.veto_below)
    labels, evidence = link_by_identifiers(keys, idents, config, caps, vetoed, index, households.apart)
    confidence = np.ones(len(keys))
    result = StitchResult(
        keys,
        labels,
        idents,
        confidence,
        evidence=evidence,
        blocked=extract.blocked,
        model=trained,
        blocking=blocking,
    )
    # A record alone in its cluster after the graph has no identifier link.
    sizes = np.bincount(labels, minlength=len(keys))
    confidence[sizes[labels] == 1] = 0.0
    width = len(config.match.fields)
    to_merge = _confirmed_pairs(confirmed, {k: i for i, k in enumerate(keys)}, width)
    if pairs is not None:
        result.scored = pairs
        to_merge = to_merge.concat(pairs.subset(pairs.probability >= config.match.review_below))
    _apply_matches(result, to_merge, config, caps)
    return result


def _confirmed_pairs(confirmed: Iterable[tuple[str, str]], index: dict[str, int], width: int) -> ScoredPairs:
    """Pairs a person confirmed, as certain matches (no field levels: nobody compared them)."""
    found = sorted(
        {
            (min(index[a], index[b]), max(index[a], index[b]))
            for a, b in confirmed
            if a in index and b in index and a != b
        }
    )
    return ScoredPairs(
        np.asarray([a for a, _ in found], np.int64),
        np.asarray([b for _, b in found], np.int64),
        np.ones(len(found)),
        np.full((len(found), width), -1, np.int8),
    )


def _vetoed(
    pairs: ScoredPairs, idents: list[list[Identifier]], veto_below: float
) -> dict[tuple[int, int], str]:
    """Pairs sharing an identifier whose match probability says: two people (and why)."""
    out = {}
    for j in np.flatnonzero(pairs.probability < veto_below).tolist():
        a, b = int(pairs.a[j]), int(pairs.b[j])
        if set(idents[a]) & set(idents[b]):
            p = float(pairs.probability[j])
            out[(min(a, b), max(a, b))] = (
                f"everything else says two people (match probability {p:.4f} < veto_below {veto_below})"
            )
    return out


def _match_columns(
    records: list[Mapping[str, object]],
    idents: list[list[Identifier]],
    config: IdentityConfig,
    shared: Mapping[Identifier, int],
    households: Households | None = None,
) -> tuple[dict[str, pa.Array], np.ndarray]:
    """Values per match field, and which records had their identifier value nulled as shared.

    A field named like an identifier type takes the record's first value of that type,
    normalised. A shared value (on more than `shared_threshold` records: `noemail@...`
    on 71 people) is compared as missing: no agreement, no disagreement. Agreeing on it
    says nothing about two people, so it must not score as if it did. A household's
    value carries its holder's group (household.py): equal only within the group.
    """
    group = households.group if households is not None else {}
    types = {r.type for r in config.identifiers}
    # As Arrow strings at once: a million-slot Python list per field is not kept.
    columns: dict[str, pa.Array] = {}
    nulled = np.zeros(len(idents), bool)
    for f in config.match.fields:
        if f.field in types:
            column: list[object] = [None] * len(idents)
            for i, ids in enumerate(idents):
                for ident in ids:
                    if ident[0] == f.field:
                        if shared and ident in shared:
                            nulled[i] = True
                        else:
                            g = group.get((i, ident)) if group else None
                            column[i] = ident[1] if g is None else f"{ident[1]}{GROUP_SEP}{g}"
                        break
            columns[f.field] = as_text(column)
        else:
            columns[f.field] = as_text([r.get(f.field) for r in records])
    return columns, nulled


def _earlier_pairs(earlier: Iterable[MatchLink], index: dict[str, int], width: int) -> ScoredPairs:
    """The last run's scored pairs whose two records still exist, as arrays."""
    a, b, p, g = [], [], [], []
    for link in earlier:
        ia, ib = index.get(link.record_a), index.get(link.record_b)
        if ia is None or ib is None:
            continue
        a.append(min(ia, ib))
        b.append(max(ia, ib))
        p.append(link.probability)
        g.append(link.levels)
    return ScoredPairs(
        np.asarray(a, np.int64),
        np.asarray(b, np.int64),
        np.asarray(p, float),
        np.asarray(g, np.int8).reshape(-1, width),
    )


def _levels_array(keys: list[str], earlier: Mapping[str, str], n_rules: int) -> np.ndarray:
    """`block_levels()` of an earlier run as an array over this run's records (absent: all 0)."""
    levels = np.zeros((len(keys), n_rules), np.int8)
    for i, key in enumerate(keys):
        sig = earlier.get(key)
        if sig:
            values = [int(x) for x in sig.split(".")]
            if len(values) == n_rules:
                levels[i] = values
    return levels


def _mark_sharing_changes(
    changed: np.ndarray,
    nulled: np.ndarray,
    earlier: ScoredPairs,
    columns: Mapping[str, pa.Array],
    config: IdentityConfig,
) -> None:
    """Re-score the records whose compared identifier may have become, or stopped being, shared.

    Their fields did not change, but what matching sees of them did: a value crosses
    `shared_threshold` when other records gain or lose it. A record whose value is
    shared now is re-scored (its earlier pairs may have counted it as agreement); an
    earlier pair that saw a missing identifier where both records have one now was
    scored while the value was shared, so both its records are re-scored too.
    """
    changed |= nulled
    types = {r.type for r in config.identifiers}
    for j, f in enumerate(config.match.fields):
        if f.field not in types or not len(earlier):
            continue
        present = columns[f.field].is_valid().to_numpy(zero_copy_only=False)
        stale = (earlier.gammas[:, j] < 0) & present[earlier.a] & present[earlier.b]
        changed[earlier.a[stale]] = True
        changed[earlier.b[stale]] = True


def _apply_matches(
    result: StitchResult, pairs: ScoredPairs, config: IdentityConfig, caps: dict[str, int]
) -> None:
    """Merge clusters by match links, strongest first, through the identifier guards."""
    if not len(pairs):
        return
    keys, labels, idents = result.keys, result.labels, result.identifiers
    # Pairs inside one identifier cluster change nothing; most pairs are such.
    across = labels[pairs.a] != labels[pairs.b]
    if not across.any():
        return
    pairs = pairs.subset(across)
    touched = np.unique(labels[np.concatenate([pairs.a, pairs.b])])
    members: dict[int, list[int]] = {int(t): [] for t in touched}
    for i in np.flatnonzero(np.isin(labels, touched)).tolist():
        members[int(labels[i])].append(i)

    def sets_of(label: int) -> dict[str, set[str]]:
        return guard_sets(members[label], idents, result.evidence.shared)

    # Strongest first; ties by record keys so the outcome never depends on input order.
    involved = np.unique(np.concatenate([pairs.a, pairs.b]))
    rank = np.zeros(len(keys), np.int64)
    rank[sorted(involved.tolist(), key=keys.__getitem__)] = np.arange(len(involved))
    ra, rb = rank[pairs.a], rank[pairs.b]
    order = np.lexsort((np.maximum(ra, rb), np.minimum(ra, rb), -pairs.probability))

    union = GuardedUnion(sets_of, caps)
    threshold = config.match.threshold
    a_list, b_list, p_list = pairs.a.tolist(), pairs.b.tolist(), pairs.probability.tolist()
    for j in order.tolist():
        a, b, p = a_list[j], b_list[j], p_list[j]
        la, lb = int(labels[a]), int(labels[b])
        if union.find(la) == union.find(lb):
            continue
        if p < threshold:
            result.review.append(pairs.link(j, keys))
            continue
        reason = union.union(la, lb)
        if reason:
            link = pairs.link(j, keys)
            result.evidence.refusals.append(Refusal(link.record_a, link.record_b, f"match:{p:.4f}", reason))
            continue
        result.match_links.append(pairs.link(j, keys))
        for i in (a, b):
            if result.confidence[i] < p:
                result.confidence[i] = p
    # Relabel: a merged cluster is named by its smallest record index, like the rest.
    root_min: dict[int, int] = {}
    for t in touched.tolist():
        root = union.find(t)
        root_min[root] = min(root_min.get(root, t), t)
    mapping = np.arange(len(keys), dtype=np.int64)
    for t in touched.tolist():
        mapping[t] = root_min[union.find(t)]
    result.labels = mapping[labels]
