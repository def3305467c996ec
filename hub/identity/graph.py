"""The deterministic identity graph: records linked by shared identifiers.

Identifiers and records are the nodes of a bipartite graph; its connected
components are the candidate profiles. Most components are small and break no
guard, so they are found at once with SciPy. Only a component that would break
a guard (more emails than a person has) is rebuilt edge by edge, in a fixed
order - identifier priority, then value - refusing the merges that break it.
The fixed order makes the result independent of the order records arrive in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from hub.identity.config import IdentityConfig

__all__ = [
    "Identifier",
    "Refusal",
    "GraphEvidence",
    "IdentifierIndex",
    "index_identifiers",
    "GuardedUnion",
    "link_by_identifiers",
    "caps_for",
    "guard_sets",
    "CONSTRAINT_PREFIX",
]

Identifier = tuple[str, str]  # (type, normalised value)
# A type starting with "!" is a constraint, not a link: a cluster may hold one value
# of it. A split (unmerge) gives the split-off records one value and the rest another.
CONSTRAINT_PREFIX = "!"


@dataclass(frozen=True)
class Refusal:
    """A merge a guard refused: the two records stay in separate profiles."""

    record_a: str
    record_b: str
    via: str
    reason: str


@dataclass
class GraphEvidence:
    shared: dict[Identifier, int] = field(default_factory=dict)  # identifier -> records holding it
    refusals: list[Refusal] = field(default_factory=list)


class GuardedUnion:
    """Union-find over clusters that refuses a union breaking a per-type identifier cap."""

    def __init__(self, idents_of: Callable[[int], dict[str, set[str]]], caps: dict[str, int]):
        self._parent: dict[int, int] = {}
        self._sets: dict[int, dict[str, set[str]]] = {}
        self._idents_of = idents_of
        self._caps = caps

    def find(self, node: int) -> int:
        parent = self._parent
        root = node
        while parent.get(root, root) != root:
            root = parent[root]
        while node != root:  # path compression
            parent[node], node = root, parent.get(node, node)
        return root

    def _ident_sets(self, root: int) -> dict[str, set[str]]:
        if root not in self._sets:
            self._sets[root] = self._idents_of(root)
        return self._sets[root]

    def union(self, a: int, b: int) -> str | None:
        """Merge the clusters of a and b; return why not if a guard refuses."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return None
        sa, sb = self._ident_sets(ra), self._ident_sets(rb)
        for type_, cap in self._caps.items():
            va, vb = sa.get(type_, ()), sb.get(type_, ())
            if va and vb and len(va) + len(vb) > cap:
                total = len(set(va) | set(vb))
                if total > cap and type_.startswith(CONSTRAINT_PREFIX):
                    return f"a person kept these records apart ({type_[1:]}: profiles split / reject)"
                if total > cap:
                    return f"the profile would hold {total} {type_} identifiers (max_per_profile {cap})"
        keep, drop = (ra, rb) if ra < rb else (rb, ra)  # the smaller id survives: deterministic
        self._parent[drop] = keep
        merged, other = self._sets.pop(keep), self._sets.pop(drop)
        for type_, values in other.items():
            merged.setdefault(type_, set()).update(values)
        self._sets[keep] = merged
        return None


def guard_sets(
    records: Sequence[int], idents: Sequence[Sequence[Identifier]], shared: dict[Identifier, int]
) -> dict[str, set[str]]:
    """Identifier values per type that count against the caps: a shared one is not identity."""
    sets: dict[str, set[str]] = {}
    for i in records:
        for ident in idents[i]:
            if ident not in shared:
                sets.setdefault(ident[0], set()).add(ident[1])
    return sets


def caps_for(config: IdentityConfig, idents: Sequence[Sequence[Identifier]]) -> dict[str, int]:
    caps = {r.type: r.max_per_profile for r in config.identifiers}
    for rec_idents in idents:
        for type_, _ in rec_idents:
            if type_.startswith(CONSTRAINT_PREFIX):
                caps[type_] = 1
    return caps


@dataclass(frozen=True)
class IdentifierIndex:
    """Every (record, identifier) edge of the graph as arrays, and how many records hold each value."""

    by_id: list[Identifier]  # identifier per id
    recs: np.ndarray  # per edge: record index
    ids: np.ndarray  # per edge: identifier id
    counts: np.ndarray  # per identifier id: records holding it
    constrained: list[int]  # records carrying a split constraint

    def shared(self, threshold: int) -> dict[Identifier, int]:
        """Identifiers on more than `threshold` records: shared, so neither a link nor match evidence."""
        return {self.by_id[j]: int(self.counts[j]) for j in np.flatnonzero(self.counts > threshold)}


def index_identifiers(idents: Sequence[Sequence[Identifier]]) -> IdentifierIndex:
    ident_ids: dict[Identifier, int] = {}
    rec_col: list[int] = []
    id_col: list[int] = []
    constrained: list[int] = []
    for i, rec_idents in enumerate(idents):
        for ident in rec_idents:  # distinct per record (the extractor sees to it)
            if ident[0][0] == CONSTRAINT_PREFIX:
                constrained.append(i)
                continue
            rec_col.append(i)
            id_col.append(ident_ids.setdefault(ident, len(ident_ids)))
    ids = np.asarray(id_col, dtype=np.int64)
    return IdentifierIndex(
        list(ident_ids),
        np.asarray(rec_col, dtype=np.int64),
        ids,
        np.bincount(ids, minlength=len(ident_ids)),
        constrained,
    )


def link_by_identifiers(
    keys: Sequence[str],
    idents: Sequence[Sequence[Identifier]],
    config: IdentityConfig,
    caps: dict[str, int],
    vetoed: Mapping[tuple[int, int], str] | None = None,
    index: IdentifierIndex | None = None,
    apart: Mapping[tuple[int, int, Identifier], str] | None = None,
) -> tuple[np.ndarray, GraphEvidence]:
    """Cluster label per record (the smallest record index of its cluster) and the evidence.

    `caps` is the identifier cap per type, constraint types included (cap 1).
    `vetoed` maps record pairs (lower index first) that an identifier must not link
    to the reason (a match probability). `apart` does the same for one identifier
    only, (a, b, identifier) -> reason: a household's phone does not link two of its
    people, their own emails still may (household.py). `index` is
    `index_identifiers(idents)` if the caller has it."""
    vetoed = vetoed or {}
    apart = apart or {}
    n = len(keys)
    evidence = GraphEvidence()
    if not n:  # nothing synced yet, or every record erased
        return np.zeros(0, np.int64), evidence
    index = index or index_identifiers(idents)
    by_id, constrained = index.by_id, index.constrained
    recs, ids, counts = index.recs, index.ids, index.counts
    evidence.shared = index.shared(config.shared_threshold)
    keep = counts[ids] <= config.shared_threshold
    recs, ids = recs[keep], ids[keep]

    m = len(by_id)
    graph = coo_matrix((np.ones(len(recs), dtype=np.int8), (recs, n + ids)), shape=(n + m, n + m))
    _, labels = connected_components(graph, directed=False)
    rec_labels = labels[:n]

    # Components that would break a cap: distinct identifiers per (component, type).
    type_index = {r.type: t for t, r in enumerate(config.identifiers)}
    id_types = np.fromiter((type_index.get(t, len(type_index)) for t, _ in by_id), dtype=np.int64, count=m)
    uniq_ids = np.unique(ids)
    comp_type = labels[n + uniq_ids] * (len(type_index) + 1) + id_types[uniq_ids]
    combos, per = np.unique(comp_type, return_counts=True)
    cap_arr = np.array([caps[r.type] for r in config.identifiers] + [np.iinfo(np.int64).max])
    over = per > cap_arr[combos % (len(type_index) + 1)]
    contested = set((combos[over] // (len(type_index) + 1)).tolist())

    # Label each cluster by its smallest record index (deterministic, order-free given keys).
    order = np.argsort(rec_labels, kind="stable")
    first = np.full(labels.max() + 1, -1, dtype=np.int64)
    sorted_labels = rec_labels[order]
    starts = np.flatnonzero(np.r_[True, sorted_labels[1:] != sorted_labels[:-1]])
    first[sorted_labels[starts]] = order[starts]
    result = first[rec_labels]

    # A split constraint contests its component when the component holds two of its values.
    constraint_values: dict[tuple[int, str], set[str]] = {}
    for i in constrained:
        for type_, value in idents[i]:
            if type_[0] == CONSTRAINT_PREFIX:
                constraint_values.setdefault((int(rec_labels[i]), type_), set()).add(value)
    contested.update(label for (label, _), values in constraint_values.items() if len(values) > 1)
    contested.update(int(rec_labels[a]) for a, b in vetoed if rec_labels[a] == rec_labels[b])
    contested.update(int(rec_labels[a]) for a, b, _ in apart if rec_labels[a] == rec_labels[b])

    if contested:
        members = [int(i) for i in np.flatnonzero(np.isin(rec_labels, list(contested)))]
        _guarded_rebuild(members, keys, idents, config, caps, evidence, result, vetoed, apart)
    return result, evidence


def _guarded_rebuild(
    members: list[int],
    keys: Sequence[str],
    idents: Sequence[Sequence[Identifier]],
    config: IdentityConfig,
    caps: dict[str, int],
    evidence: GraphEvidence,
    result: np.ndarray,
    vetoed: Mapping[tuple[int, int], str],
    apart: Mapping[tuple[int, int, Identifier], str],
) -> None:
    """Re-link contested components one identifier at a time, refusing cap-breaking merges
    and links between records the match model says are different people."""

    def own_sets(i: int) -> dict[str, set[str]]:
        return guard_sets([i], idents, evidence.shared)

    holders: dict[Identifier, list[int]] = {}
    for i in members:
        for ident in set(idents[i]):
            if ident not in evidence.shared and not ident[0].startswith(CONSTRAINT_PREFIX):
                holders.setdefault(ident, []).append(i)
    union = GuardedUnion(own_sets, caps)
    # Records are sorted by key so that the same input in any order yields the same result.
    for ident in sorted(holders, key=lambda it: (config.priority(it[0]), it[1])):
        recs = sorted(holders[ident], key=keys.__getitem__)
        for j in range(1, len(recs)):
            # Join any earlier holder that will have it: one refusal must not stop
            # the rest of the identifier's holders from joining each other.
            first_reason = None
            for i in range(j):
                if union.find(recs[i]) == union.find(recs[j]):
                    first_reason = None
                    break
                pair = (min(recs[i], recs[j]), max(recs[i], recs[j]))
                why = vetoed.get(pair) or (apart.get((*pair, ident)) if apart else None)
                if why is not None:
                    first_reason = first_reason or (recs[i], why)
                    continue
                reason = union.union(recs[i], recs[j])
                if reason is None:
                    first_reason = None
                    break
                first_reason = first_reason or (recs[i], reason)
            if first_reason:
                evidence.refusals.append(
                    Refusal(keys[first_reason[0]], keys[recs[j]], f"{ident[0]}:{ident[1]}", first_reason[1])
                )
    for i in members:
        result[i] = union.find(i)
    # Relabel each rebuilt cluster by its smallest record index.
    smallest: dict[int, int] = {}
    for i in members:
        root = int(result[i])
        smallest[root] = min(smallest.get(root, i), i)
    for i in members:
        result[i] = smallest[int(result[i])]
