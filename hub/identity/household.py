"""Household identifiers: one landline, several people.

A phone held by "Mary Smith" and "John Smith" at one address is evidence that
they live together, not that they are one person. Fellegi-Sunter scores each
field on its own, so the phone's agreement (rare between random records: ~15
bits) plus the surname's and the city's outweighed two different first names,
and the identifier graph linked the pair outright: households were ~90% of the
wrong pairs on the Zipf-named generator (bench/people_zipf.py, precision 0.80).

An identifier rule with `household_by` (the default phone rule: `first_name`)
groups each value's holders by that field, single-linkage on Jaro-Winkler
>= 0.80: the match model's own line between "somewhat close" and "different"
first names, so a typo (Mray / Mary) stays in the group and a different person
(Mary / John) does not. A value with two or more groups is a household's:

- the graph links its holders by it only within a group (the pairs across
  groups are held apart by this value, with the reason recorded as a refusal;
  their own emails still link them);
- matching compares it per group: equal within a group, missing (no evidence
  either way) across groups, and the phone blocking rule pairs only within a
  group, so EM's phone-rule "match" class stops learning households.

A holder without the field cannot be placed and links to no one by that value.
A value with one group is unchanged. What is lost: a nickname (Bob / Robert)
on a household's phone no longer links by it; the email, or the rest of the
fields, must.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pyarrow as pa

from hub.identity.config import IdentityConfig
from hub.identity.graph import Identifier, IdentifierIndex

__all__ = ["Households", "find_households", "GROUP_SEP"]

# Between an identifier's value and its holder's group in a match column: a control
# character no normalised email or phone holds. match.py compares values equal up to
# it as missing.
GROUP_SEP = "\x1f"
_ALIKE = 0.80  # Jaro-Winkler at or above which two names are one group (LEVELS["name"])


@dataclass
class Households:
    """Per (record, household identifier) its group; the record pairs it must not link, and why."""

    group: dict[tuple[int, Identifier], str] = field(default_factory=dict)
    apart: dict[tuple[int, int, Identifier], str] = field(default_factory=dict)
    values: int = 0  # household identifier values found

    def members(self, n: int) -> np.ndarray:
        """Whether each of `n` records holds a household identifier."""
        mask = np.zeros(n, bool)
        if self.group:
            mask[np.fromiter((i for i, _ in self.group), np.int64, len(self.group))] = True
        return mask


def _clean(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip().lower()
    return text or None


def find_households(
    records: Sequence[Mapping[str, object]],
    config: IdentityConfig,
    index: IdentifierIndex,
) -> Households:
    """The household identifier values among those on 2..shared_threshold records."""
    by_type = {r.type: r.household_by for r in config.identifiers if r.household_by}
    out = Households()
    if not by_type or not len(index.ids):
        return out
    counts = index.counts
    of_type = np.fromiter((t in by_type for t, _ in index.by_id), bool, len(index.by_id))
    wanted = of_type & (counts >= 2) & (counts <= config.shared_threshold)
    edges = np.flatnonzero(wanted[index.ids])
    if not len(edges):
        return out
    edges = edges[np.argsort(index.ids[edges], kind="stable")]
    ids, recs = index.ids[edges], index.recs[edges]
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    ends = np.r_[starts[1:], len(ids)]
    # Values whose holders carry two or more distinct names: the candidates.
    holders: dict[int, list[tuple[int, str | None]]] = {}
    rows_j: list[int] = []
    rows_name: list[str] = []
    for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
        j = int(ids[s])
        name_field = by_type[index.by_id[j][0]]
        held = [(r, _clean(records[r].get(name_field))) for r in recs[s:e].tolist()]
        names = {n for _, n in held if n is not None}
        if len(names) < 2:
            continue
        holders[j] = held
        for n in names:
            rows_j.append(j)
            rows_name.append(n)
    if not holders:
        return out
    # Which names of one value are alike, by DuckDB's Jaro-Winkler (the matcher's).
    con = duckdb.connect(config={"threads": 1})
    try:
        con.register(
            "hn", pa.table({"j": pa.array(rows_j, pa.int64()), "n": pa.array(rows_name, pa.string())})
        )
        alike = con.execute(
            f"""SELECT a.j, a.n, b.n FROM hn a JOIN hn b ON a.j = b.j AND a.n < b.n
            WHERE jaro_winkler_similarity(a.n, b.n) >= {_ALIKE}"""
        ).fetchall()
    finally:
        con.close()
    links: dict[int, list[tuple[str, str]]] = {}
    for j, n1, n2 in alike:
        links.setdefault(int(j), []).append((n1, n2))
    for j, held in holders.items():
        groups = _groups({n for _, n in held if n is not None}, links.get(j, ()))
        if len(set(groups.values())) < 2:
            continue  # one person, or one person's spellings
        out.values += 1
        ident = index.by_id[j]
        name_field = by_type[ident[0]]
        for r, name in held:
            out.group[(r, ident)] = groups[name] if name is not None else ""
        ordered = sorted(held)
        for x, (a, na) in enumerate(ordered):
            for b, nb in ordered[x + 1 :]:
                ga, gb = out.group[(a, ident)], out.group[(b, ident)]
                if ga and ga == gb:
                    continue
                out.apart.setdefault(
                    (a, b, ident),
                    f"household {ident[0]} {ident[1]}: {name_field} {na or '(none)'!r} and "
                    f"{nb or '(none)'!r} are different people (Jaro-Winkler < {_ALIKE}); "
                    f"it links only records of one {name_field}",
                )
    return out


def _groups(names: set[str], links: Sequence[tuple[str, str]] | tuple[()]) -> dict[str, str]:
    """Single-linkage groups of names; each named by its smallest member."""
    parent = {n: n for n in names}

    def find(n: str) -> str:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    for a, b in links:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {n: find(n) for n in names}
