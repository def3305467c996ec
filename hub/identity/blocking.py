"""Blocking with a bound: which record pairs are compared, counted before any is made.

A blocking rule groups records sharing its keys; every pair in a group is a
candidate. A group's pairs grow with the square of its size, so one common key
(`smith` + `j` on 5,000 records) would make 12.5 million pairs on its own. Each
rule's groups are therefore counted first, in SQL, without making a pair
(n * (n - 1) / 2 summed over groups, as Splink's
`count_comparisons_from_blocking_rule`). A group larger than `max_block_size`
is split by a further key - the rule's prefixes made whole, then the other
non-identifier match fields in the order configured - and what is still too
large after the last key is skipped. No group larger than the cap is ever
joined, so a rule makes at most records * (max_block_size - 1) / 2 pairs.

A record's level (how many further keys its group needed; -1: skipped) is
returned per rule: an incremental run re-scores the records whose level changed,
because the pairs around them did (see stitching.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from hub.identity.config import MatchConfig

__all__ = ["RuleStats", "build_blocks", "candidate_pairs_sql", "further_keys", "rule_exprs", "rule_label"]

SKIPPED = -1  # a record's level in a group still over the cap after every further key


@dataclass
class RuleStats:
    """What one blocking rule did in a run (pairs are those scored: touching a changed record)."""

    rule: str
    blocks: int  # groups of two or more records
    largest_block: int
    pairs_uncapped: int  # what the rule would make with no cap
    pairs: int  # what it made
    capped_blocks: int  # groups over max_block_size
    split_into: int  # groups of two or more made from them by further keys
    skipped_blocks: int  # groups still over the cap after every further key: not compared
    skipped_records: int
    split_by: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def rule_label(rule: Sequence[str]) -> str:
    return " + ".join(rule)


def rule_exprs(rule: Sequence[str], table: str = "") -> list[str]:
    """SQL for a rule's keys over the cleaned `recs` columns; "field:3" is the first three characters."""
    exprs = []
    for part in rule:
        name, _, prefix = part.partition(":")
        col = f"{table}f_{name}"
        exprs.append(f"left({col}, {int(prefix)})" if prefix else col)
    return exprs


def further_keys(cfg: MatchConfig, rule: Sequence[str], identifier_fields: Sequence[str]) -> list[str]:
    """The fields a too-large group of `rule` is split by, in order.

    First the rule's prefixes made whole (`first_name:1` -> `first_name`): the
    nearest finer key. Then the other match fields in the order configured,
    identifiers left out: records agreeing on an email are linked by it anyway,
    so a group split by email finds nothing new.
    """
    own = [p.split(":", 1)[0] for p in rule]
    out = [p.split(":", 1)[0] for p in rule if ":" in p]
    out += [
        f.field
        for f in cfg.fields
        if f.field not in own and f.field not in identifier_fields and f.field not in out
    ]
    return out


def build_blocks(
    con: duckdb.DuckDBPyConnection,
    cfg: MatchConfig,
    identifier_fields: Sequence[str],
    n_records: int,
    earlier_levels: np.ndarray | None = None,
) -> tuple[list[RuleStats], np.ndarray, np.ndarray]:
    """Per rule I, the groups over the cap (`bigI`) and their records regrouped (`subI`).

    Reads the temp table `recs` (rid, src, chg, f_<field>...). A group of the
    rule's own keys within the cap is joined straight from `recs`
    (`candidate_pairs_sql`); only the records of a group over it are copied,
    to `subI` (rid, src, chg, lvl, k0.., x0..): the rule's keys and the further
    keys their group needed ('' where not needed; a missing value is '' too, so
    records lacking it stay together). Records still in a group over the cap
    after every further key are in no table: skipped.

    With `earlier_levels` (per record and rule, from the run whose scores an
    incremental run reuses), a record whose level moved is marked changed (`chg`)
    in `recs` and `subI`: its group crossed the cap, so its pairs are not the
    ones scored then. Returns the stats, the levels, and which records moved.
    """
    stats, levels = [], np.zeros((n_records, len(cfg.blocking)), np.int8)
    for i, rule in enumerate(cfg.blocking):
        further = further_keys(cfg, rule, identifier_fields)
        lv, skipped_blocks, skipped_records = _split_big_groups(con, cfg, i, further)
        stats.append(RuleStats(rule_label(rule), 0, 0, 0, 0, 0, 0, skipped_blocks, skipped_records, further))
        if len(lv["rid"]):
            levels[lv["rid"], i] = lv["lvl"]
    moved = np.zeros(n_records, bool)
    if earlier_levels is not None and len(cfg.blocking):
        moved = (levels != earlier_levels).any(axis=1)
        if moved.any():
            con.register("moved_rids", pa.table({"rid": pa.array(np.flatnonzero(moved))}))
            for table in ["recs", *(f"sub{i}" for i in range(len(cfg.blocking)))]:
                con.execute(f"UPDATE {table} SET chg = true WHERE rid IN (SELECT rid FROM moved_rids)")
            con.unregister("moved_rids")
            for i, rule in enumerate(cfg.blocking):  # their unchanged counts changed
                keyed, ks = _keyed(rule)
                con.execute(f"CREATE OR REPLACE TABLE g{i} AS {_group_counts(cfg, keyed, ks)}")
    for i, s in enumerate(stats):
        _count_rule(con, cfg, i, s)
    return stats, levels, moved


def _keyed(rule: Sequence[str]) -> tuple[str, list[str]]:
    """The records having every key of a rule, with the keys as k0, k1, ...; and the key names."""
    exprs = rule_exprs(rule)
    ks = [f"k{j}" for j in range(len(exprs))]
    keyed = ", ".join(f"{e} AS {k}" for e, k in zip(exprs, ks, strict=True))
    not_null = " AND ".join(f"{e} IS NOT NULL" for e in exprs)
    return f"(SELECT rid, src, chg, {keyed} FROM recs WHERE {not_null})", ks


def _split_big_groups(
    con: duckdb.DuckDBPyConnection, cfg: MatchConfig, i: int, further: list[str]
) -> tuple[dict[str, np.ndarray], int, int]:
    """`bigI` and `subI` for rule I; the levels of the records in big groups; what was skipped."""
    keyed, ks = _keyed(cfg.blocking[i])
    xs = [f"x{j}" for j in range(len(further))]
    cap = cfg.max_block_size
    # One pass over the records per rule: its groups and their counts, kept for the stats.
    con.execute(f"CREATE OR REPLACE TABLE g{i} AS {_group_counts(cfg, keyed, ks)}")
    con.execute(f"CREATE OR REPLACE TABLE big{i} AS SELECT {', '.join(ks)} FROM g{i} WHERE n > {cap}")
    empty = "".join(f", ''::VARCHAR AS {x}" for x in xs)
    con.execute(f"""CREATE OR REPLACE TABLE over AS
        SELECT *{empty} FROM {keyed} SEMI JOIN big{i} USING ({", ".join(ks)})""")
    con.execute(f"""CREATE OR REPLACE TABLE sub{i} AS
        SELECT rid, src, chg, 0::TINYINT AS lvl, {", ".join(ks + xs)} FROM over LIMIT 0""")
    for level, (x, name) in enumerate(zip(xs, further, strict=True), start=1):
        if not _count(con, "SELECT count(*) FROM over"):
            break
        # Only the records of groups still too large get the next key.
        con.execute(f"""CREATE OR REPLACE TABLE over AS
            SELECT *, count(*) OVER (PARTITION BY {", ".join(ks + xs[:level])}) AS n
            FROM (SELECT o.* EXCLUDE (n) REPLACE (coalesce(r.f_{name}, '') AS {x})
                  FROM (SELECT *, 0 AS n FROM over) o JOIN recs r USING (rid))""")
        con.execute(f"""INSERT INTO sub{i}
            SELECT rid, src, chg, {level}::TINYINT, {", ".join(ks + xs)} FROM over WHERE n <= {cap}""")
        con.execute(f"DELETE FROM over WHERE n <= {cap}")
    skipped_blocks = _count(con, f"SELECT count(*) FROM (SELECT 1 FROM over GROUP BY {', '.join(ks + xs)})")
    levels = con.execute(f"""SELECT rid, lvl FROM sub{i}
        UNION ALL SELECT rid, {SKIPPED}::TINYINT FROM over""").fetchnumpy()
    skipped_records = _count(con, "SELECT count(*) FROM over")
    con.execute("DROP TABLE over")
    return levels, skipped_blocks, skipped_records


def _count_rule(con: duckdb.DuckDBPyConnection, cfg: MatchConfig, i: int, s: RuleStats) -> None:
    """Fill in a rule's group counts and pairs (with and without the cap), making no pair."""
    per_group, cap = _pairs_per_group(cfg), cfg.max_block_size
    row = con.execute(f"""
        SELECT count(*) FILTER (WHERE n > 1), coalesce(max(n), 0), count(*) FILTER (WHERE n > {cap}),
               coalesce(sum({per_group}), 0), coalesce(sum({per_group}) FILTER (WHERE n <= {cap}), 0)
        FROM g{i}""").fetchone()
    assert row is not None
    con.execute(f"DROP TABLE g{i}")
    s.blocks, s.largest_block, s.capped_blocks, s.pairs_uncapped, pairs_within = (int(x) for x in row)
    group = [
        "lvl",
        *(f"k{j}" for j in range(len(cfg.blocking[i]))),
        *(f"x{j}" for j in range(len(s.split_by))),
    ]
    row = con.execute(f"""SELECT coalesce(sum({per_group}), 0), count(*) FILTER (WHERE n > 1)
        FROM ({_group_counts(cfg, f"sub{i}", group)})""").fetchone()
    assert row is not None
    s.pairs, s.split_into = pairs_within + int(row[0]), int(row[1])
    if not s.capped_blocks:
        s.split_by = []


def _group_counts(cfg: MatchConfig, table: str, group: list[str]) -> str:
    """Per group of `table` on `group`: n records, u of them unchanged (and with link_only
    n2, u2: the sums of each source's squared counts)."""
    cols = ", ".join(group)
    if cfg.link_type != "link_only":
        return f"""SELECT {cols}, count(*) AS n, count(*) FILTER (WHERE NOT chg) AS u
            FROM {table} GROUP BY {cols}"""
    return f"""SELECT {cols}, sum(c) AS n, sum(u) AS u, sum(c * c) AS n2, sum(u * u) AS u2
        FROM (SELECT {cols}, src, count(*) AS c, count(*) FILTER (WHERE NOT chg) AS u
              FROM {table} GROUP BY {cols}, src) GROUP BY {cols}"""


def _pairs_per_group(cfg: MatchConfig) -> str:
    """Pairs a group makes from its counts, with a changed record on one side.

    n records of which u unchanged make n(n-1)/2 - u(u-1)/2 pairs; with link_only,
    only pairs across sources: the same with the squares of each source's counts
    (n2, u2) taken off.
    """
    if cfg.link_type == "link_only":
        return "((n * n - n2) - (u * u - u2)) // 2"
    return "(n * (n - 1) - u * (u - 1)) // 2"


def candidate_pairs_sql(cfg: MatchConfig, i: int, identifier_fields: Sequence[str]) -> str:
    """Pairs (a < b) in one capped group of rule i, with a changed record on one side."""
    keyed, ks = _keyed(cfg.blocking[i])
    n_further = len(further_keys(cfg, cfg.blocking[i], identifier_fields))
    only_across = "AND l.src <> r.src" if cfg.link_type == "link_only" else ""
    within = f"(SELECT * FROM {keyed} ANTI JOIN big{i} USING ({', '.join(ks)}))"
    cols = ["lvl", *ks, *(f"x{j}" for j in range(n_further))]
    return (
        f"SELECT l.rid AS a, r.rid AS b FROM {within} l JOIN {within} r ON "
        + " AND ".join(f"l.{k} = r.{k}" for k in ks)
        + f" AND l.rid < r.rid AND (l.chg OR r.chg) {only_across}"
        + f" UNION ALL SELECT l.rid AS a, r.rid AS b FROM sub{i} l JOIN sub{i} r ON "
        + " AND ".join(f"l.{c} = r.{c}" for c in cols)
        + f" AND l.rid < r.rid AND (l.chg OR r.chg) {only_across}"
    )


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchone()
    assert row is not None
    return int(row[0])
