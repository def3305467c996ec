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
    """Tables `blk0`, `blk1`, ... (one per rule) of records in their capped group; stats; levels.

    Reads the temp table `recs` (rid, src, chg, f_<field>...). A row of `blkI` is
    (rid, src, chg, lvl, k0.., x0..): the rule's keys, and the further keys its
    group needed ('' where not needed; a missing value is '' too, so records
    lacking it stay together). Two records are a candidate pair of rule I when
    their rows agree on lvl and every key.

    With `earlier_levels` (per record and rule, from the run whose scores an
    incremental run reuses), a record whose level moved is marked changed (`chg`)
    in `recs` and the blocks: a group crossed the cap, so its pairs are not the
    ones scored then. Returns the stats, the levels, and which records moved.
    """
    stats, levels = [], np.zeros((n_records, len(cfg.blocking)), np.int8)
    for i, rule in enumerate(cfg.blocking):
        s, lv = _build_rule(con, cfg, i, further_keys(cfg, rule, identifier_fields))
        stats.append(s)
        if len(lv["rid"]):
            levels[lv["rid"], i] = lv["lvl"]
    moved = np.zeros(n_records, bool)
    if earlier_levels is not None and len(cfg.blocking):
        moved = (levels != earlier_levels).any(axis=1)
        if moved.any():
            con.register("moved_rids", pa.table({"rid": pa.array(np.flatnonzero(moved))}))
            for table in ["recs", *(f"blk{i}" for i in range(len(cfg.blocking)))]:
                con.execute(f"UPDATE {table} SET chg = true WHERE rid IN (SELECT rid FROM moved_rids)")
            con.unregister("moved_rids")
    for i, (rule, s) in enumerate(zip(cfg.blocking, stats, strict=True)):
        exprs = rule_exprs(rule)
        ks = [f"k{j}" for j in range(len(exprs))]
        keyed = ", ".join(f"{e} AS {k}" for e, k in zip(exprs, ks, strict=True))
        not_null = " AND ".join(f"{e} IS NOT NULL" for e in exprs)
        s.pairs_uncapped = _pair_counts(
            con, cfg, f"(SELECT src, chg, {keyed} FROM recs WHERE {not_null})", ks
        )
        n_further = len(further_keys(cfg, rule, identifier_fields))
        s.pairs = _pair_counts(con, cfg, f"blk{i}", ["lvl", *ks, *(f"x{j}" for j in range(n_further))])
    return stats, levels, moved


def _build_rule(
    con: duckdb.DuckDBPyConnection, cfg: MatchConfig, i: int, further: list[str]
) -> tuple[RuleStats, dict[str, np.ndarray]]:
    rule = cfg.blocking[i]
    exprs = rule_exprs(rule)
    ks = [f"k{j}" for j in range(len(exprs))]
    xs = [f"x{j}" for j in range(len(further))]
    cap = cfg.max_block_size
    keyed = ", ".join(f"{e} AS {k}" for e, k in zip(exprs, ks, strict=True))
    not_null = " AND ".join(f"{e} IS NOT NULL" for e in exprs)
    empty = "".join(f", ''::VARCHAR AS {x}" for x in xs)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE over AS
        SELECT *, count(*) OVER (PARTITION BY {", ".join(ks)}) AS n
        FROM (SELECT rid, src, chg, {keyed}{empty} FROM recs WHERE {not_null})""")
    row = con.execute(f"""SELECT count(*) FILTER (WHERE n > 1), coalesce(max(n), 0),
            count(*) FILTER (WHERE n > {cap})
        FROM (SELECT count(*) AS n FROM over GROUP BY {", ".join(ks)})""").fetchone()
    assert row is not None
    blocks, largest, capped = (int(x) for x in row)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE blk{i} AS
        SELECT rid, src, chg, 0::TINYINT AS lvl, {", ".join(ks + xs)} FROM over WHERE n <= {cap}""")
    con.execute(f"DELETE FROM over WHERE n <= {cap}")
    for level, (x, name) in enumerate(zip(xs, further, strict=True), start=1):
        if not _count(con, "SELECT count(*) FROM over"):
            break
        # Only the records of groups still too large get the next key.
        con.execute(f"""CREATE OR REPLACE TEMP TABLE over AS
            SELECT * REPLACE (count(*) OVER (PARTITION BY {", ".join(ks + xs[:level])}) AS n)
            FROM (SELECT o.* REPLACE (coalesce(r.f_{name}, '') AS {x})
                  FROM over o JOIN recs r USING (rid))""")
        con.execute(f"""INSERT INTO blk{i}
            SELECT rid, src, chg, {level}::TINYINT, {", ".join(ks + xs)} FROM over WHERE n <= {cap}""")
        con.execute(f"DELETE FROM over WHERE n <= {cap}")
    skipped_blocks = _count(con, f"SELECT count(*) FROM (SELECT 1 FROM over GROUP BY {', '.join(ks + xs)})")
    skipped_records = _count(con, "SELECT count(*) FROM over")
    split_into = _count(
        con,
        f"""SELECT count(*) FROM (SELECT 1 FROM blk{i} WHERE lvl > 0
        GROUP BY lvl, {", ".join(ks + xs)} HAVING count(*) > 1)""",
    )
    levels = con.execute(f"""SELECT rid, lvl FROM blk{i} WHERE lvl > 0
        UNION ALL SELECT rid, {SKIPPED}::TINYINT FROM over""").fetchnumpy()
    con.execute("DROP TABLE over")
    return RuleStats(
        rule=rule_label(rule),
        blocks=blocks,
        largest_block=largest,
        pairs_uncapped=0,  # counted once the changed records are known (build_blocks)
        pairs=0,
        capped_blocks=capped,
        split_into=split_into,
        skipped_blocks=skipped_blocks,
        skipped_records=skipped_records,
        split_by=further if capped else [],
    ), levels


def _pair_counts(con: duckdb.DuckDBPyConnection, cfg: MatchConfig, table: str, group: list[str]) -> int:
    """Pairs a join on `group` makes, counted per group without making them.

    Only pairs with a changed record on one side (all pairs, in a full run), and
    with link_only only pairs across sources: per group, n records of which u
    unchanged make n(n-1)/2 - u(u-1)/2 pairs; across sources, the same with the
    squares of each source's counts taken off.
    """
    cols = ", ".join(group)
    if cfg.link_type == "link_only":
        per_group = "((n * n - n2) - (u * u - u2)) / 2"
    else:
        per_group = "(n * (n - 1) - u * (u - 1)) / 2"
    row = con.execute(f"""
        WITH s AS (SELECT {cols}, src, count(*)::HUGEINT AS c, count(*) FILTER (WHERE NOT chg)::HUGEINT AS u
                   FROM {table} GROUP BY ALL),
             g AS (SELECT sum(c) AS n, sum(u) AS u, sum(c * c) AS n2, sum(u * u) AS u2 FROM s GROUP BY {cols})
        SELECT coalesce(sum({per_group}), 0)::BIGINT FROM g""").fetchone()
    assert row is not None
    return int(row[0])


def candidate_pairs_sql(cfg: MatchConfig, i: int, identifier_fields: Sequence[str]) -> str:
    """Pairs (a < b) in one capped group of rule i, with a changed record on one side."""
    n_further = len(further_keys(cfg, cfg.blocking[i], identifier_fields))
    cols = ["lvl", *(f"k{j}" for j in range(len(cfg.blocking[i]))), *(f"x{j}" for j in range(n_further))]
    on = " AND ".join(f"l.{c} = r.{c}" for c in cols)
    only_across = "AND l.src <> r.src" if cfg.link_type == "link_only" else ""
    return (
        f"SELECT l.rid AS a, r.rid AS b FROM blk{i} l JOIN blk{i} r "
        f"ON {on} AND l.rid < r.rid AND (l.chg OR r.chg) {only_across}"
    )


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchone()
    assert row is not None
    return int(row[0])
