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
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa

from hub.identity.config import CompareKind, MatchConfig

__all__ = ["MatchModel", "MatchLink", "ScoredPairs", "score_pairs", "LEVELS"]

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


def _compare_sql(kind: CompareKind, f: str) -> str:
    lf, rf = f"l.{f}", f"r.{f}"
    top = len(LEVELS[kind]) - 1  # code of "exact"
    cases = {
        "name": [(f"jaro_winkler_similarity({lf}, {rf}) >= 0.92", 2),
                 (f"jaro_winkler_similarity({lf}, {rf}) >= 0.80", 1)],
        "text": [(f"jaro_winkler_similarity({lf}, {rf}) >= 0.90", 2),
                 (f"jaro_winkler_similarity({lf}, {rf}) >= 0.75", 1)],
        "date": [(f"damerau_levenshtein({lf}, {rf}) <= 1 OR (left({lf}, 4) = left({rf}, 4) AND "
                  f"substr({lf}, 5, 2) = substr({rf}, 7, 2) AND substr({lf}, 7, 2) = substr({rf}, 5, 2))", 2),
                 (f"left({lf}, 4) = left({rf}, 4)", 1)],
        "code": [(f"damerau_levenshtein({lf}, {rf}) <= 1", 1)],
        "exact": [],
    }[kind]
    whens = "".join(f" WHEN {cond} THEN {code}" for cond, code in cases)
    return (f"CASE WHEN {lf} IS NULL OR {rf} IS NULL THEN -1 WHEN {lf} = {rf} THEN {top}"
            f"{whens} ELSE 0 END")


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

    def weights(self) -> list[np.ndarray]:
        """log2(m/u) per field and level: the evidence a level adds."""
        return [np.log2(np.asarray(m) / np.asarray(u)) for m, u in zip(self.m, self.u, strict=True)]

    def probability(self, gammas: np.ndarray) -> np.ndarray:
        """Match probability for rows of level codes (-1 = missing, no evidence either way)."""
        logit = np.full(len(gammas), np.log2(self.prior / (1 - self.prior)))
        for k, w in enumerate(self.weights()):
            g = gammas[:, k]
            logit += np.where(g >= 0, w[np.maximum(g, 0)], 0.0)
        return 1.0 / (1.0 + np.exp2(-logit))


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

    def subset(self, mask: np.ndarray) -> ScoredPairs:
        return ScoredPairs(self.a[mask], self.b[mask], self.probability[mask], self.gammas[mask])

    def link(self, j: int, keys: Sequence[str]) -> MatchLink:
        ka, kb = sorted((keys[int(self.a[j])], keys[int(self.b[j])]))
        return MatchLink(ka, kb, float(self.probability[j]), tuple(int(x) for x in self.gammas[j]))


def _records_table(columns: dict[str, Sequence[object]], keys: Sequence[str], sources: Sequence[str],
                   changed: np.ndarray | None) -> pa.Table:
    def as_text(values: Sequence[object]) -> pa.Array:
        if all(v is None or isinstance(v, str) for v in values):
            return pa.array(values, pa.string())
        return pa.array([v if v is None or isinstance(v, str) else str(v) for v in values], pa.string())

    data = {"rid": pa.array(np.arange(len(sources), dtype=np.int64)),
            "k": pa.array(keys, pa.string()),
            "src": pa.array(sources, pa.string()),
            "chg": pa.array(np.ones(len(sources), bool) if changed is None else changed)}
    for name, values in columns.items():
        data[f"f_{name}"] = as_text(values)
    return pa.table(data)


def _rule_exprs(rule: tuple[str, ...]) -> list[str]:
    exprs = []
    for part in rule:
        name, _, prefix = part.partition(":")
        exprs.append(f"left(f_{name}, {int(prefix)})" if prefix else f"f_{name}")
    return exprs


def _rule_pairs_sql(cfg: MatchConfig, i: int) -> str:
    """Pairs sharing every key of blocking rule i, skipping keys too common to block on."""
    exprs = _rule_exprs(cfg.blocking[i])
    keys = ", ".join(f"{e} AS k{j}" for j, e in enumerate(exprs))
    not_null = " AND ".join(f"{e} IS NOT NULL" for e in exprs)
    on = " AND ".join(f"l.k{j} = r.k{j}" for j in range(len(exprs)))
    cols = ", ".join(f"k{j}" for j in range(len(exprs)))
    side = (f"(SELECT * FROM (SELECT rid, src, chg, {keys} FROM recs WHERE {not_null}) "
            f"ANTI JOIN big{i} USING ({cols}))")
    only_across = "AND l.src <> r.src" if cfg.link_type == "link_only" else ""
    return (f"SELECT l.rid AS a, r.rid AS b FROM {side} l JOIN {side} r "
            f"ON {on} AND l.rid < r.rid AND (l.chg OR r.chg) {only_across}")


def _big_blocks_sql(cfg: MatchConfig) -> list[str]:
    out = []
    for i, rule in enumerate(cfg.blocking):
        exprs = _rule_exprs(rule)
        keys = ", ".join(f"{e} AS k{j}" for j, e in enumerate(exprs))
        cols = ", ".join(f"k{j}" for j in range(len(exprs)))
        out.append(f"CREATE TEMP TABLE big{i} AS SELECT {cols} FROM (SELECT {keys} FROM recs) "
                   f"GROUP BY ALL HAVING count(*) > {cfg.max_block_size}")
    return out


def score_pairs(columns: dict[str, Sequence[object]], keys: Sequence[str], sources: Sequence[str],
                cfg: MatchConfig, model: MatchModel | None = None,
                changed: np.ndarray | None = None) -> tuple[ScoredPairs, MatchModel]:
    """Score the candidate pairs; train a model unless one is given.

    Pairs already linked by an identifier are scored too: an incremental run can
    then reuse this run's links even where an identifier link later breaks.

    Training samples by hashes of record keys, never by position, so the model
    (and so the result) does not depend on the order records arrive in.

    `changed` (bool per record) limits scoring to pairs with a changed record on
    one side: the incremental run. Returns pairs at or above `cfg.review_below`.
    """
    fields = [f.field for f in cfg.fields]
    kinds = [f.compare for f in cfg.fields]
    con = duckdb.connect()
    try:
        con.execute("SET threads TO 2")
        con.register("recs_arrow", _records_table({f: columns[f] for f in fields}, keys, sources,
                                                          changed))
        # Compared trimmed and in lower case; an empty value is a missing one.
        cleaned = ", ".join(f"nullif(lower(trim(f_{f})), '') AS f_{f}" for f in fields)
        con.execute(f"CREATE TEMP TABLE recs AS SELECT rid, k, src, chg, {cleaned} FROM recs_arrow")
        for stmt in _big_blocks_sql(cfg):
            con.execute(stmt)
        gamma_cols = _gamma_cols(fields, kinds)
        union = " UNION ".join(_rule_pairs_sql(cfg, i) for i in range(len(cfg.blocking)))
        con.execute(f"""CREATE TEMP TABLE pairs AS
            SELECT p.a, p.b, {gamma_cols}
            FROM ({union}) p JOIN recs l ON l.rid = p.a JOIN recs r ON r.rid = p.b""")
        gnames = ", ".join(f"g{i}" for i in range(len(fields)))
        if model is None:
            model = _train(con, cfg, fields, kinds)
        patterns = con.execute(f"SELECT DISTINCT {gnames} FROM pairs").fetchnumpy()
        pat = np.column_stack([patterns[f"g{i}"] for i in range(len(fields))]).astype(np.int64) \
            if len(fields) else np.zeros((0, 0), np.int64)
        prob = model.probability(pat) if len(pat) else np.zeros(0)
        keep = prob >= cfg.review_below
        con.register("pattern_prob", pa.table(
            {**{f"g{i}": pa.array(pat[keep, i].astype(np.int8)) for i in range(len(fields))},
             "p": pa.array(prob[keep])}))
        out = con.execute(f"""SELECT a, b, p, {gnames} FROM pairs JOIN pattern_prob
                              USING ({gnames}) ORDER BY a, b""").fetchnumpy()
    finally:
        con.close()
    gammas = np.column_stack([out[f"g{i}"] for i in range(len(fields))]).astype(np.int8) \
        if len(out["a"]) else np.zeros((0, len(fields)), np.int8)
    return ScoredPairs(np.asarray(out["a"], np.int64), np.asarray(out["b"], np.int64),
                       np.asarray(out["p"], float), gammas), model


def _gamma_cols(fields: list[str], kinds: list[str]) -> str:
    return ", ".join(f"({_compare_sql(k, 'f_' + f)})::TINYINT AS g{i}"  # type: ignore[arg-type]
                     for i, (f, k) in enumerate(zip(fields, kinds, strict=True)))


def _patterns(con: duckdb.DuckDBPyConnection, sql: str, n_fields: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct level patterns of a pair query and how often each occurs."""
    rows = con.execute(sql).fetchnumpy()
    g = np.column_stack([rows[f"g{i}"] for i in range(n_fields)]).astype(np.int64) \
        if len(rows["c"]) else np.zeros((0, n_fields), np.int64)
    return g, rows["c"].astype(float)


def _train(con: duckdb.DuckDBPyConnection, cfg: MatchConfig, fields: list[str],
           kinds: list[str]) -> MatchModel:
    """u from random pairs; m by EM per blocking rule; then the match share with m and u fixed.

    A rule's own fields agree on all its pairs by construction, so EM on that
    rule's pairs learns nothing about them (worse: it takes their agreement for
    a sign of matching). Each rule therefore trains only the other fields, and
    a field's m is the mean over the rules that trained it - the approach
    Splink takes.
    """
    n_levels = [len(LEVELS[k]) for k in kinds]  # type: ignore[index]
    gamma_cols = _gamma_cols(fields, kinds)
    gnames = ", ".join(f"g{i}" for i in range(len(fields)))
    g, c = _patterns(con, f"""
        WITH s AS (SELECT * FROM recs ORDER BY hash(k), k LIMIT {_U_SAMPLE_ROWS})
        SELECT {gamma_cols}, count(*) AS c FROM s l JOIN s r ON l.rid < r.rid GROUP BY ALL""", len(fields))
    u = []
    for i, n in enumerate(n_levels):
        present = g[:, i] >= 0
        counts = np.bincount(g[present, i], weights=c[present], minlength=n)
        u.append((counts + 1.0) / (counts.sum() + n))  # add-one: no level is impossible

    trained: list[list[np.ndarray]] = [[] for _ in fields]
    expected_matches = 0.0
    for r, rule in enumerate(cfg.blocking):
        own = {part.split(":", 1)[0] for part in rule}
        active = [i for i, f in enumerate(fields) if f not in own]
        n_pairs = con.execute(f"SELECT count(*) FROM ({_rule_pairs_sql(cfg, r)})").fetchone()[0]
        step = -(-n_pairs // _TRAIN_PAIRS)  # train on at most ~_TRAIN_PAIRS, chosen by key hash
        g, c = _patterns(con, f"""SELECT {gnames}, count(*) AS c FROM (
            SELECT {gamma_cols} FROM ({_rule_pairs_sql(cfg, r)}) p
            JOIN recs l ON l.rid = p.a JOIN recs r ON r.rid = p.b
            WHERE {step} = 1 OR hash(least(l.k, r.k), greatest(l.k, r.k)) % {step} = 0)
            GROUP BY ALL""", len(fields))
        if not len(c) or not active:
            continue
        m_rule, prior_rule = _em(g, c, u, n_levels, active, fit_m=True)
        for i in active:
            trained[i].append(m_rule[i])
        # Matches this rule finds; the rule finding most is the best lower bound on all.
        expected_matches = max(expected_matches, prior_rule * n_pairs)
    m = [np.mean(t, axis=0) if t else _default_m(n) for t, n in zip(trained, n_levels, strict=True)]
    # The prior is that of two random records matching: blocking only chooses which
    # pairs to score, and u (from random pairs) counts the blocked fields' agreement too.
    return MatchModel(fields, kinds, [x.tolist() for x in m], [x.tolist() for x in u],
                      _random_pair_prior(con, cfg, expected_matches))


def _random_pair_prior(con: duckdb.DuckDBPyConnection, cfg: MatchConfig, expected_matches: float) -> float:
    if cfg.link_type == "link_only":
        sizes = [row[0] for row in con.execute("SELECT count(*) FROM recs GROUP BY src").fetchall()]
        total = (sum(sizes) ** 2 - sum(x * x for x in sizes)) / 2
    else:
        n = con.execute("SELECT count(*) FROM recs").fetchone()[0]
        total = n * (n - 1) / 2
    return float(min(max(expected_matches / max(total, 1.0), 1e-12), 0.5))


def _default_m(n: int) -> np.ndarray:
    """m for a field no rule could train: matches mostly agree exactly."""
    m = np.full(n, 0.1 / max(n - 1, 1))
    m[-1] = 0.9
    return m


def _em(g: np.ndarray, c: np.ndarray, u: list[np.ndarray], n_levels: list[int], active: list[int], *,
        fit_m: bool, m: list[np.ndarray] | None = None) -> tuple[list[np.ndarray], float]:
    """Expectation-maximisation over level patterns (rows of g, counted by c)."""
    m = [x.copy() for x in m] if m is not None else [_default_m(n) for n in n_levels]
    prior = 0.1
    for _ in range(_EM_ITERATIONS):
        logit = np.full(len(g), np.log(prior / (1 - prior)))
        for i in active:
            present = g[:, i] >= 0
            level = np.maximum(g[:, i], 0)
            logit += np.where(present, np.log(m[i][level]) - np.log(u[i][level]), 0.0)
        p = 1.0 / (1.0 + np.exp(-np.clip(logit, -700, 700)))
        w = c * p
        new_prior = float(min(max(w.sum() / c.sum(), 1e-9), 1 - 1e-9))
        delta = abs(new_prior - prior)
        if fit_m:
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
