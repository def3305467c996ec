"""Probabilistic matching (Fellegi-Sunter) for records that share no identifier.

Pairs come from blocking rules and are compared field by field into levels
(exact, close, somewhat close, different, missing). Each level has m (how
often true matches show it) and u (how often non-matches do). u comes from
random pairs, which are almost all non-matches; m and the share of matches
come from expectation-maximisation on the candidate pairs. No labelled data is
needed. Blocking, comparisons and pattern counts run in DuckDB, so a million
records fit in seconds on two cores; EM runs on the distinct level patterns
(hundreds), not on the pairs.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from hub.identity.blocking import RuleStats, build_blocks, candidate_pairs_sql, rule_exprs
from hub.identity.config import CompareKind, MatchConfig

__all__ = ["MatchModel", "MatchLink", "ScoredPairs", "Blocking", "Budget", "score_pairs", "LEVELS"]

# Level names per comparison kind, best first; the number is the level's code.
LEVELS: dict[CompareKind, tuple[str, ...]] = {
    "name": ("exact", "jaro-winkler >= 0.92", "jaro-winkler >= 0.80", "different"),
    "text": ("exact", "jaro-winkler >= 0.90", "jaro-winkler >= 0.75", "different"),
    "date": ("exact", "one edit or day/month swapped", "same year", "different"),
    "code": ("exact", "one edit", "different"),
    "exact": ("exact", "different"),
}
_U_SAMPLE_ROWS = 1000  # ~500k random pairs for u
_EM_ITERATIONS = 100
_M_FLOOR = 1e-3
_TRAIN_PAIRS = 2_000_000  # pairs per blocking rule that EM trains on
# True matches agree on an identifier at least this often, or EM's match class is not people.
_IDENTIFIER_AGREES = 0.5


def _compare_sql(kind: CompareKind, f: str) -> str:
    lf, rf = f"l.{f}", f"r.{f}"
    top = len(LEVELS[kind]) - 1  # code of "exact"
    cases = {
        "name": [
            (f"jaro_winkler_similarity({lf}, {rf}) >= 0.92", 2),
            (f"jaro_winkler_similarity({lf}, {rf}) >= 0.80", 1),
        ],
        "text": [
            (f"jaro_winkler_similarity({lf}, {rf}) >= 0.90", 2),
            (f"jaro_winkler_similarity({lf}, {rf}) >= 0.75", 1),
        ],
        "date": [
            (
                f"damerau_levenshtein({lf}, {rf}) <= 1 OR (left({lf}, 4) = left({rf}, 4) AND "
                f"substr({lf}, 5, 2) = substr({rf}, 7, 2) AND substr({lf}, 7, 2) = substr({rf}, 5, 2))",
                2,
            ),
            (f"left({lf}, 4) = left({rf}, 4)", 1),
        ],
        "code": [(f"damerau_levenshtein({lf}, {rf}) <= 1", 1)],
        # A household's value carries its holder's group after chr(31) (household.py): one
        # value, two groups is no evidence either way.
        "exact": [(f"split_part({lf}, chr(31), 1) = split_part({rf}, chr(31), 1)", -1)],
    }[kind]
    whens = "".join(f" WHEN {cond} THEN {code}" for cond, code in cases)
    return f"CASE WHEN {lf} IS NULL OR {rf} IS NULL THEN -1 WHEN {lf} = {rf} THEN {top}{whens} ELSE 0 END"


@dataclass
class MatchModel:
    """Trained Fellegi-Sunter parameters; level arrays are indexed by level code."""

    fields: list[str]
    kinds: list[str]
    m: list[list[float]]
    u: list[list[float]]
    prior: float  # share of candidate pairs that match

    def to_json(self) -> str:
        return json.dumps(self.__dict__)

    @classmethod
    def from_json(cls, text: str) -> MatchModel:
        return cls(**json.loads(text))

    def probability(self, gammas: np.ndarray) -> np.ndarray:
        """Match probability for rows of level codes (-1 = missing, no evidence either way)."""
        return _posterior(gammas, self.m, self.u, range(len(self.fields)), self.prior)


@dataclass(frozen=True)
class MatchLink:
    """Two records joined (or listed for review) by probabilistic matching."""

    record_a: str
    record_b: str
    probability: float
    levels: tuple[int, ...]  # level code per match field


@dataclass
class ScoredPairs:
    a: np.ndarray  # record indices, a < b
    b: np.ndarray
    probability: np.ndarray
    gammas: np.ndarray  # level code per pair and field

    def __len__(self) -> int:
        return len(self.a)

    def concat(self, other: ScoredPairs) -> ScoredPairs:
        return ScoredPairs(
            np.concatenate([self.a, other.a]),
            np.concatenate([self.b, other.b]),
            np.concatenate([self.probability, other.probability]),
            np.concatenate([self.gammas, other.gammas]),
        )

    def subset(self, mask: np.ndarray) -> ScoredPairs:
        return ScoredPairs(self.a[mask], self.b[mask], self.probability[mask], self.gammas[mask])

    def link(self, j: int, keys: Sequence[str]) -> MatchLink:
        ka, kb = sorted((keys[int(self.a[j])], keys[int(self.b[j])]))
        return MatchLink(ka, kb, float(self.probability[j]), tuple(int(x) for x in self.gammas[j]))


def as_text(values: Sequence[object] | pa.Array) -> pa.Array:
    """A match column as Arrow strings (numbers and dates written out); Arrow as it is."""
    if isinstance(values, pa.Array):
        return values
    try:
        return pa.array(values, pa.string())
    except (pa.ArrowTypeError, pa.ArrowInvalid):  # numbers and dates among the strings
        return pa.array([v if v is None or isinstance(v, str) else str(v) for v in values], pa.string())


def _records_table(
    columns: Mapping[str, Sequence[object] | pa.Array],
    keys: Sequence[str],
    sources: Sequence[str],
    changed: np.ndarray | None,
) -> pa.Table:
    data = {
        "rid": pa.array(np.arange(len(sources), dtype=np.int64)),
        "k": pa.array(keys, pa.string()),
        "src": pa.array(sources, pa.string()),
        "chg": pa.array(np.ones(len(sources), bool) if changed is None else changed),
    }
    for name, values in columns.items():
        data[f"f_{name}"] = as_text(values)
    return pa.table(data)


def _rule_flags(cfg: MatchConfig) -> str:
    """Per pair, which blocking rules' keys it shares (columns r0, r1, ...)."""
    flags = []
    for i, rule in enumerate(cfg.blocking):
        conds = [
            f"coalesce({le} = {re}, false)"
            for le, re in zip(rule_exprs(rule, "l."), rule_exprs(rule, "r."), strict=True)
        ]
        flags.append(f"({' AND '.join(conds)}) AS r{i}")
    return ", ".join(flags)


@dataclass(frozen=True)
class Budget:
    """The stitch's memory budget (`identity.memory_limit`) and DuckDB's threads."""

    memory_limit: str = "2GB"
    threads: int = 2


_UNITS = {
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "TB": 10**12,
    "KIB": 2**10,
    "MIB": 2**20,
    "GIB": 2**30,
    "TIB": 2**40,
}


def duckdb_memory(budget: str, held: int) -> int:
    """Bytes DuckDB may use: what the process does not hold already less a tenth, at least a quarter.

    The budget is the whole stitch's (the records read, their identifiers, the
    matcher), so DuckDB gets the rest; beyond it DuckDB spills to disk, slower
    but inside the budget. The quarter is a floor for when the process alone
    holds (nearly) the budget: DuckDB needs some memory to work at all.
    """
    number, unit = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([A-Za-z]+)", budget.strip()).groups()  # type: ignore[union-attr]
    total = int(float(number) * _UNITS[unit.upper()])
    # A tenth is kept for what DuckDB's limit does not count: its allocator's slack and
    # the results handed to Python (at 1M records the process went ~130 MB past
    # held + limit without it).
    return max(total - total // 10 - held, total // 4)


def _resident_bytes() -> int:
    """This process's resident memory now (Linux; 0 where /proc is not there)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


_THREAD_MEMORY = 512 * 2**20


@contextmanager
def _duckdb(budget: Budget) -> Iterator[duckdb.DuckDBPyConnection]:
    limit = duckdb_memory(budget.memory_limit, _resident_bytes())
    # Each thread's hash tables come in fixed blocks that cannot spill: at 1M skewed
    # records two threads ran out of a 500 MB limit in the pairs' union where one
    # thread spilled and finished. So a thread per _THREAD_MEMORY of the limit.
    threads = max(1, min(budget.threads, limit // _THREAD_MEMORY))
    with tempfile.TemporaryDirectory(prefix="crossdock-match-") as spill:
        # A database file, not memory: its tables (the records, the candidate pairs) are
        # then paged in and out under the limit like any spill, instead of pinned in it.
        con = duckdb.connect(
            os.path.join(spill, "match.duckdb"),
            config={"memory_limit": f"{limit // 1024}KiB", "threads": threads},
        )
        try:
            con.execute("SET temp_directory = '" + spill.replace("'", "''") + "'")
            # Order is restored where it matters (ORDER BY); keeping it everywhere costs memory.
            con.execute("SET preserve_insertion_order = false")
            yield con
        finally:
            con.close()


@dataclass
class Blocking:
    """What blocking did: per rule its counts, per record and rule its level (blocking.py)."""

    rules: list[RuleStats] = field(default_factory=list)
    levels: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.int8))
    candidate_pairs: int = 0  # distinct pairs scored, over all rules


def score_pairs(
    columns: Mapping[str, Sequence[object] | pa.Array],
    keys: Sequence[str],
    sources: Sequence[str],
    cfg: MatchConfig,
    model: MatchModel | None = None,
    changed: np.ndarray | None = None,
    identifier_fields: Sequence[str] = (),
    budget: Budget | None = None,
    earlier_levels: np.ndarray | None = None,
) -> tuple[ScoredPairs, MatchModel, Blocking]:
    """Score the candidate pairs; train a model unless one is given.

    Pairs already linked by an identifier are scored too: an incremental run can
    then reuse this run's links even where an identifier link later breaks.

    Training samples by hashes of record keys, never by position, so the model
    (and so the result) does not depend on the order records arrive in.

    `changed` (bool per record) limits scoring to pairs with a changed record on
    one side: the incremental run. Returns pairs at or above `cfg.review_below`,
    and pairs below `cfg.veto_below` that agree exactly on one of
    `identifier_fields` and disagree on another field (the identifier links the veto stops).

    `earlier_levels` are the blocking levels of the run whose pairs an incremental
    run reuses: a record whose level moved is re-scored, and set in `changed` (in place).
    """
    fields = [f.field for f in cfg.fields]
    kinds: list[str] = [f.compare for f in cfg.fields]
    # Made before DuckDB starts, so DuckDB's share of the budget leaves room for it.
    table = _records_table({f: columns[f] for f in fields}, keys, sources, changed)
    del columns  # the caller hands them over: once in DuckDB, the Arrow copy is freed
    with _duckdb(budget or Budget()) as con:
        con.register("recs_arrow", table)
        # Compared trimmed and in lower case; an empty value is a missing one.
        cleaned = ", ".join(f"nullif(lower(trim(f_{f})), '') AS f_{f}" for f in fields)
        con.execute(f"CREATE TABLE recs AS SELECT rid, k, src, chg, {cleaned} FROM recs_arrow")
        con.unregister("recs_arrow")
        del table
        pa.default_memory_pool().release_unused()  # the copy's memory back to the system
        rules, levels, moved = build_blocks(
            con, cfg, identifier_fields, len(keys), earlier_levels if changed is not None else None
        )
        if changed is not None:
            changed |= moved
        gamma_cols = _gamma_cols(fields, kinds)
        union = " UNION ".join(
            f"({candidate_pairs_sql(cfg, i, identifier_fields)})" for i in range(len(cfg.blocking))
        )
        con.execute(f"""CREATE TABLE pairs AS
            SELECT p.a, p.b, {gamma_cols}, {_rule_flags(cfg)},
                   hash(least(l.k, r.k), greatest(l.k, r.k)) AS h
            FROM ({union}) p JOIN recs l ON l.rid = p.a JOIN recs r ON r.rid = p.b""")
        for i in range(len(cfg.blocking)):
            con.execute(f"DROP TABLE big{i}; DROP TABLE sub{i}")
        blocking = Blocking(rules, levels, _count(con, "SELECT count(*) FROM pairs"))
        if model is None:
            model = _train(con, cfg, fields, kinds, identifier_fields)
        out = _final_scores(con, cfg, model, fields, kinds, identifier_fields)
    gammas = (
        np.column_stack([out[f"g{i}"] for i in range(len(fields))]).astype(np.int8)
        if len(out["a"])
        else np.zeros((0, len(fields)), np.int8)
    )
    pairs = ScoredPairs(
        np.asarray(out["a"], np.int64), np.asarray(out["b"], np.int64), np.asarray(out["p"], float), gammas
    )
    return pairs, model, blocking


def _final_scores(
    con: duckdb.DuckDBPyConnection,
    cfg: MatchConfig,
    model: MatchModel,
    fields: list[str],
    kinds: list[str],
    identifier_fields: Sequence[str],
) -> dict[str, Any]:
    """Each pair's probability: its level pattern's weight, plus term-frequency adjustments.

    With `term_frequency` on a field, exact agreement on a rare value (a surname
    few people share) counts for more than on a common one: the average u of
    the exact level is replaced by the value's own frequency.
    """
    gnames = ", ".join(f"g{i}" for i in range(len(fields)))
    patterns = con.execute(f"SELECT DISTINCT {gnames} FROM pairs").fetchnumpy()
    pat = np.column_stack([patterns[f"g{i}"] for i in range(len(fields))]).astype(np.int64)
    probability = model.probability(pat) if len(pat) else np.zeros(0)
    bits = np.log2(np.clip(probability, 1e-300, None)) - np.log2(np.clip(1 - probability, 1e-300, None))
    con.register(
        "pattern_bits",
        pa.table(
            {
                **{f"g{i}": pa.array(pat[:, i].astype(np.int8)) for i in range(len(fields))},
                "bits": pa.array(bits),
            }
        ),
    )
    adjust, joins = ["0"], []
    n = _count(con, "SELECT count(*) FROM recs")
    for i, f in enumerate(cfg.fields):
        if not f.term_frequency:
            continue
        top = len(LEVELS[kinds[i]]) - 1  # type: ignore[index]
        u_exact = model.u[i][top]
        con.execute(f"""CREATE OR REPLACE TABLE tf{i} AS SELECT f_{f.field} AS v,
                        count(*)::DOUBLE / {n} AS tf FROM recs WHERE f_{f.field} IS NOT NULL GROUP BY 1""")
        joins.append(
            f"LEFT JOIN recs rl{i} ON rl{i}.rid = p.a LEFT JOIN tf{i} ON tf{i}.v = rl{i}.f_{f.field}"
        )
        adjust.append(
            f"(CASE WHEN p.g{i} = {top} THEN log2({u_exact} / greatest(tf{i}.tf, 1e-9)) ELSE 0 END)"
        )
    # A veto needs evidence against: a pair that agrees on an identifier and has nothing
    # else to compare (a consent record holds only an email) is not two people.
    disagrees = (
        " OR ".join(f"s.g{i} = 0" for i, f in enumerate(fields) if f not in identifier_fields) or "false"
    )
    veto = (
        " OR ".join(
            f"(s.p < {cfg.veto_below} AND s.g{fields.index(f)} = {len(LEVELS[kinds[fields.index(f)]]) - 1}"  # type: ignore[index]
            f" AND ({disagrees}))"
            for f in identifier_fields
        )
        or "false"
    )
    return con.execute(f"""
        SELECT s.a, s.b, s.p, {", ".join(f"s.g{i}" for i in range(len(fields)))} FROM (
            SELECT p.a, p.b, {", ".join(f"p.g{i}" for i in range(len(fields)))},
                   1 / (1 + pow(2, -(pb.bits + {" + ".join(adjust)}))) AS p
            FROM pairs p JOIN pattern_bits pb USING ({gnames}) {" ".join(joins)}) s
        WHERE s.p >= {cfg.review_below} OR {veto}
        ORDER BY s.a, s.b""").fetchnumpy()


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    """The value of a `SELECT count(*) ...`, which always returns one row."""
    row = con.execute(sql).fetchone()
    assert row is not None
    return int(row[0])


def _gamma_cols(fields: list[str], kinds: list[str]) -> str:
    return ", ".join(
        f"({_compare_sql(k, 'f_' + f)})::TINYINT AS g{i}"  # type: ignore[arg-type]
        for i, (f, k) in enumerate(zip(fields, kinds, strict=True))
    )


def _patterns(con: duckdb.DuckDBPyConnection, sql: str, n_fields: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct level patterns of a pair query and how often each occurs."""
    rows = con.execute(sql).fetchnumpy()
    g = (
        np.column_stack([rows[f"g{i}"] for i in range(n_fields)]).astype(np.int64)
        if len(rows["c"])
        else np.zeros((0, n_fields), np.int64)
    )
    return g, rows["c"].astype(float)


def _train(
    con: duckdb.DuckDBPyConnection,
    cfg: MatchConfig,
    fields: list[str],
    kinds: list[str],
    identifier_fields: Sequence[str] = (),
) -> MatchModel:
    """u from random pairs; m by EM per blocking rule; then the match share with m and u fixed.

    A rule's own fields agree on all its pairs by construction, so EM on that
    rule's pairs learns nothing about them (worse: it takes their agreement for
    a sign of matching). Each rule therefore trains only the other fields, and
    a field's m is the mean over the rules that trained it - the approach
    Splink takes.

    An identifier (email, phone) links a person outright, so true matches agree on it
    more often than not. Where a rule's "match" class agrees on an identifier less often
    than that, EM has found namesakes, not people: among a name block with hardly any
    true duplicates (one CRM), m(email differs) goes to 1 and two different emails and
    phones stop counting against a pair, so "Elif Scott" and "Eli Scott" of one city
    merged at p 0.9001 on names and place alone (issue 19). Such a rule does not train
    that identifier's m; it keeps what the other rules learned, or the default.
    """
    n_levels = [len(LEVELS[k]) for k in kinds]  # type: ignore[index]
    gamma_cols = _gamma_cols(fields, kinds)
    gnames = ", ".join(f"g{i}" for i in range(len(fields)))
    g, c = _patterns(
        con,
        f"""
        WITH s AS (SELECT * FROM recs ORDER BY hash(k), k LIMIT {_U_SAMPLE_ROWS})
        SELECT {gamma_cols}, count(*) AS c FROM s l JOIN s r ON l.rid < r.rid GROUP BY ALL""",
        len(fields),
    )
    u = []
    for i, n in enumerate(n_levels):
        present = g[:, i] >= 0
        counts = np.bincount(g[present, i], weights=c[present], minlength=n)
        u.append((counts + 1.0) / (counts.sum() + n))  # add-one: no level is impossible

    trained: list[list[np.ndarray]] = [[] for _ in fields]
    rule_fit: list[tuple[list[int], float] | None] = []
    for r, rule in enumerate(cfg.blocking):
        own = {part.split(":", 1)[0] for part in rule}
        active = [i for i, f in enumerate(fields) if f not in own]
        # The rule's pairs are flagged in `pairs`; at most ~_TRAIN_PAIRS of them, chosen by
        # a hash of the two record keys (never by position: input order must not matter).
        n_pairs = _count(con, f"SELECT count(*) FROM pairs WHERE r{r}")
        step = -(-n_pairs // _TRAIN_PAIRS)
        g, c = _patterns(
            con,
            f"""SELECT {gnames}, count(*) AS c FROM pairs
            WHERE r{r} AND ({step} = 1 OR h % {step} = 0) GROUP BY ALL""",
            len(fields),
        )
        if not len(c) or not active:
            rule_fit.append(None)
            continue
        m_rule, prior_rule = _em(g, c, u, n_levels, active)
        rule_fit.append((active, prior_rule))
        for i in active:
            if fields[i] in identifier_fields and m_rule[i][n_levels[i] - 1] < _IDENTIFIER_AGREES:
                continue  # namesakes, not people: see above
            trained[i].append(m_rule[i])
    m = [np.mean(t, axis=0) if t else _default_m(n) for t, n in zip(trained, n_levels, strict=True)]
    # The prior is that of two random records matching: blocking only chooses which
    # pairs to score, and u (from random pairs) counts the blocked fields' agreement too.
    expected = _expected_matches(con, len(fields), m, u, rule_fit)
    return MatchModel(
        fields,
        kinds,
        [x.tolist() for x in m],
        [x.tolist() for x in u],
        _random_pair_prior(con, cfg, expected),
    )


def _expected_matches(
    con: duckdb.DuckDBPyConnection,
    n_fields: int,
    m: list[np.ndarray],
    u: list[np.ndarray],
    rule_fit: list[tuple[list[int], float] | None],
) -> float:
    """How many candidate pairs match: each pair judged within a rule that found it.

    Within rule r, a pair's match probability uses the match share of r's pairs and
    only the fields r does not block on, so blocked agreement is not counted twice.
    A pair found by several rules takes the largest.
    """
    gnames = ", ".join(f"g{i}" for i in range(n_fields))
    flags = ", ".join(f"r{i}" for i in range(len(rule_fit)))
    rows = con.execute(f"SELECT {gnames}, {flags}, count(*) AS c FROM pairs GROUP BY ALL").fetchnumpy()
    if not len(rows["c"]):
        return 0.0
    g = np.column_stack([rows[f"g{i}"] for i in range(n_fields)]).astype(np.int64)
    best = np.zeros(len(g))
    for r, fit in enumerate(rule_fit):
        if fit is None:
            continue
        active, prior = fit
        best = np.maximum(best, np.where(rows[f"r{r}"], _posterior(g, m, u, active, prior), 0.0))
    return float((best * rows["c"]).sum())


def _random_pair_prior(con: duckdb.DuckDBPyConnection, cfg: MatchConfig, expected_matches: float) -> float:
    if cfg.link_type == "link_only":
        sizes = [row[0] for row in con.execute("SELECT count(*) FROM recs GROUP BY src").fetchall()]
        total = (sum(sizes) ** 2 - sum(x * x for x in sizes)) / 2
    else:
        n = _count(con, "SELECT count(*) FROM recs")
        total = n * (n - 1) / 2
    return float(min(max(expected_matches / max(total, 1.0), 1e-12), 0.5))


def _default_m(n: int) -> np.ndarray:
    """m for a field no rule could train: matches mostly agree exactly."""
    m = np.full(n, 0.1 / max(n - 1, 1))
    m[-1] = 0.9
    return m


def _posterior(
    g: np.ndarray,
    m: Sequence[Sequence[float] | np.ndarray],
    u: Sequence[Sequence[float] | np.ndarray],
    fields: Sequence[int],
    prior: float,
) -> np.ndarray:
    """P(match | levels) per row of level codes, from the given fields only (-1: no evidence)."""
    logit = np.full(len(g), np.log(prior / (1 - prior)))
    for i in fields:
        level = np.maximum(g[:, i], 0)
        weight = np.log(np.asarray(m[i])[level]) - np.log(np.asarray(u[i])[level])
        logit += np.where(g[:, i] >= 0, weight, 0.0)
    return 1.0 / (1.0 + np.exp(-np.clip(logit, -700, 700)))


def _em(
    g: np.ndarray, c: np.ndarray, u: list[np.ndarray], n_levels: list[int], active: list[int]
) -> tuple[list[np.ndarray], float]:
    """Expectation-maximisation over level patterns (rows of g, counted by c): m and the prior."""
    m = [_default_m(n) for n in n_levels]
    prior = 0.1
    for _ in range(_EM_ITERATIONS):
        w = c * _posterior(g, m, u, active, prior)
        new_prior = float(min(max(w.sum() / c.sum(), 1e-9), 1 - 1e-9))
        delta = abs(new_prior - prior)
        for i in active:
            present = g[:, i] >= 0
            counts = np.bincount(g[present, i], weights=w[present], minlength=n_levels[i])
            new = counts / max(counts.sum(), 1e-12)
            # No level is impossible for a true match: data has errors.
            new = np.maximum(new, _M_FLOOR) / np.maximum(new, _M_FLOOR).sum()
            delta = max(delta, float(np.abs(new - m[i]).max()))
            m[i] = new
        prior = new_prior
        if delta < 1e-7:
            break
    return m, prior
