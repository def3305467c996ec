"""Blocking with a cap: pairs counted before they are made, big groups split or skipped,
and incremental runs still equal to full ones when groups cross the cap."""

from __future__ import annotations

import itertools
import os
import random
from collections import defaultdict

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from hub.identity import IdentityConfig, MatchConfig, MatchField, MatchModel, stitch
from hub.identity.match import Budget, _duckdb, duckdb_memory, score_pairs

FIELDS = (
    MatchField(field="first_name"),
    MatchField(field="last_name"),
    MatchField(field="city"),
)
# Weak weights and an even prior: every candidate pair scores above the tiny review
# band, so `scored` lists every pair blocking made.
MODEL = MatchModel(
    fields=["first_name", "last_name", "city"],
    kinds=["name", "name", "name"],
    m=[[0.1, 0.2, 0.3, 0.4]] * 3,
    u=[[0.4, 0.3, 0.2, 0.1]] * 3,
    prior=0.5,
)


def config(cap: int, blocking: tuple[tuple[str, ...], ...], **match: object) -> IdentityConfig:
    return IdentityConfig(
        identifiers=(),
        match=MatchConfig(
            fields=FIELDS,
            blocking=blocking,
            max_block_size=cap,
            review_below=1e-9,
            veto_below=0.0,
            threshold=0.999999,
            **match,  # type: ignore[arg-type]
        ),
    )


def people(n: int, seed: int = 1, sources: tuple[str, ...] = ("crm",)) -> list[dict[str, object]]:
    """Few surnames and initials, so some groups are large; cities split them again."""
    rng = random.Random(seed)
    return [
        {
            "source": rng.choice(sources),
            "source_id": str(i),
            "first_name": rng.choice(["john", "jane", "jim", "joan", "ann", "amy"]),
            "last_name": rng.choice(["smith", "smith", "smith", "jones", "brown", "li"]),
            "city": rng.choice(["leeds", "york", "bath", None]),
        }
        for i in range(n)
    ]


def expected_pairs(
    records: list[dict[str, object]],
    rule: tuple[str, ...],
    further: list[str],
    cap: int,
    across: bool = False,
) -> set[tuple[str, str]]:
    """The capped groups' pairs, worked out the slow way."""

    def key_of(r: dict[str, object], part: str) -> object:
        name, _, prefix = part.partition(":")
        value = r.get(name)
        return None if value is None else str(value)[: int(prefix)] if prefix else value

    groups: dict[tuple[object, ...], list[dict[str, object]]] = defaultdict(list)
    for r in records:
        key = tuple(key_of(r, p) for p in rule)
        if None not in key:
            groups[key].append(r)
    out: set[tuple[str, str]] = set()

    def split(members: list[dict[str, object]], depth: int) -> None:
        if len(members) <= cap:
            for a, b in itertools.combinations(members, 2):
                if not across or a["source"] != b["source"]:
                    ka, kb = f"{a['source']}:{a['source_id']}", f"{b['source']}:{b['source_id']}"
                    out.add((min(ka, kb), max(ka, kb)))
        elif depth < len(further):
            sub: dict[object, list[dict[str, object]]] = defaultdict(list)
            for r in members:
                sub[r.get(further[depth]) or ""].append(r)
            for part in sub.values():
                split(part, depth + 1)

    for members in groups.values():
        split(members, 0)
    return out


def made_pairs(result: object) -> set[tuple[str, str]]:
    return {(x.record_a, x.record_b) for x in result.scored_links()}  # type: ignore[attr-defined]


def test_pairs_are_counted_before_they_are_made_and_match_what_is_made() -> None:
    records = people(400)
    cfg = config(20, (("last_name", "first_name:1"),))
    result = stitch(records, cfg, model=MODEL)
    (rule,) = result.blocking.rules
    # smith + j holds about 100 records: split by the whole first name, then by city.
    assert rule.split_by == ["first_name", "city"]
    assert rule.capped_blocks >= 1 and rule.split_into > 0
    expected = expected_pairs(records, ("last_name", "first_name:1"), ["first_name", "city"], 20)
    assert made_pairs(result) == expected
    assert rule.pairs == result.blocking.candidate_pairs == len(expected)
    # Without the cap, the rule would make every pair within its groups.
    uncapped = expected_pairs(records, ("last_name", "first_name:1"), [], 10**9)
    assert rule.pairs_uncapped == len(uncapped) > rule.pairs
    # No group over the cap is compared: at most records * (cap - 1) / 2 pairs.
    assert rule.pairs <= len(records) * (20 - 1) / 2


def test_a_group_still_too_large_after_every_further_key_is_skipped() -> None:
    # 60 records agreeing on everything (placeholder names): nothing splits them.
    records = [
        {"source": "web", "source_id": str(i), "first_name": "test", "last_name": "test", "city": "x"}
        for i in range(60)
    ]
    records += [
        {"source": "web", "source_id": "a", "first_name": "ada", "last_name": "king", "city": "x"},
        {"source": "web", "source_id": "b", "first_name": "ada", "last_name": "king", "city": "x"},
    ]
    result = stitch(records, config(50, (("last_name",),)), model=MODEL)
    (rule,) = result.blocking.rules
    assert (rule.capped_blocks, rule.skipped_blocks, rule.skipped_records) == (1, 1, 60)
    assert rule.pairs_uncapped == 60 * 59 // 2 + 1
    assert made_pairs(result) == {("web:a", "web:b")}
    assert rule.pairs == 1
    assert result.block_levels()["web:0"] == "-1"  # skipped
    assert "web:a" not in result.block_levels()  # a group within the cap: level 0, not listed


def test_link_only_counts_only_pairs_across_sources() -> None:
    records = people(300, seed=3, sources=("a", "b", "c"))
    result = stitch(records, config(15, (("last_name", "first_name:1"),), link_type="link_only"), model=MODEL)
    (rule,) = result.blocking.rules
    expected = expected_pairs(records, ("last_name", "first_name:1"), ["first_name", "city"], 15, across=True)
    assert made_pairs(result) == expected
    assert rule.pairs == len(expected)


def test_counts_in_an_incremental_run_are_of_the_pairs_scored_again() -> None:
    records = people(200, seed=4)
    cfg = config(12, (("last_name", "first_name:1"), ("city",)))
    keys = [f"crm:{r['source_id']}" for r in records]
    changed = np.zeros(len(records), bool)
    changed[::17] = True
    columns = {f: [r.get(f) for r in records] for f in ("first_name", "last_name", "city")}
    pairs, _, blocking = score_pairs(columns, keys, ["crm"] * len(records), cfg.match, MODEL, changed)
    assert len(pairs) == blocking.candidate_pairs > 0
    assert (changed[pairs.a] | changed[pairs.b]).all()
    for rule, fields in zip(blocking.rules, (("last_name", "first_name:1"), ("city",)), strict=True):
        expected = expected_pairs(records, fields, rule.split_by or [], 12)
        touching = {(a, b) for a, b in expected if changed[keys.index(a)] or changed[keys.index(b)]}
        assert rule.pairs == len(touching), rule


def test_true_duplicates_in_a_split_group_are_still_found() -> None:
    cfg = IdentityConfig(
        identifiers=(),
        match=MatchConfig(fields=FIELDS, blocking=(("last_name", "first_name:1"),), max_block_size=25),
    )
    model = MatchModel(
        fields=["first_name", "last_name", "city"],
        kinds=["name", "name", "name"],
        m=[[0.02, 0.03, 0.05, 0.9]] * 3,
        u=[[0.9, 0.05, 0.03, 0.02]] * 3,
        prior=0.01,
    )
    records = [
        {
            "source": "crm",
            "source_id": str(i),
            "first_name": f"j{i:03d}x",
            "last_name": "smith",
            "city": f"c{i}",
        }
        for i in range(200)
    ]
    records += [{**r, "source": "shop"} for r in records[:10]]  # the same ten people in the shop
    result = stitch(records, cfg, model=model)
    (rule,) = result.blocking.rules
    assert rule.capped_blocks == 1 and rule.skipped_records == 0
    for i in range(10):
        assert {f"crm:{i}", f"shop:{i}"} in [set(c) for c in result.clusters()]
    assert len(result.clusters()) == 200


def test_the_budget_is_the_whole_stitchs_duckdb_gets_the_rest() -> None:
    # Less a tenth of the budget, kept for what DuckDB's own limit does not count.
    assert duckdb_memory("2GB", held=500 * 10**6) == 1300 * 10**6
    assert duckdb_memory("1GiB", held=0) == 2**30 - 2**30 // 10
    # The process alone holds the budget: DuckDB still gets a quarter, and spills.
    assert duckdb_memory("2GB", held=3 * 10**9) == 500 * 10**6


def test_memory_limit_threads_and_spill_directory_reach_duckdb() -> None:
    with _duckdb(Budget("64GB", 1)) as con:
        settings_ = dict(
            con.execute(
                "SELECT name, value FROM duckdb_settings() "
                "WHERE name IN ('memory_limit', 'threads', 'temp_directory')"
            ).fetchall()
        )
        spill = settings_["temp_directory"]
        assert "crossdock-match-" in spill
        assert settings_["threads"] == "1"
        # 64 GB less a tenth (57.6 GB = 53.6 GiB), less what this process holds
        number, unit = settings_["memory_limit"].split()
        assert unit == "GiB" and 52.0 < float(number) < 53.7, settings_["memory_limit"]
    assert not os.path.exists(spill)  # the spill directory goes with the run


def test_memory_limit_is_validated() -> None:
    assert IdentityConfig().memory_limit == "2GB"
    with pytest.raises(ValidationError, match="memory_limit"):
        IdentityConfig(memory_limit="2 gigs")


# -- incremental runs under capped blocking --------------------------------------------------

CAPPED = IdentityConfig(
    identifiers=(),
    match=MatchConfig(
        fields=FIELDS,
        blocking=(("last_name",), ("city",)),
        max_block_size=3,  # small: groups cross it as records come and go
        review_below=0.3,
        veto_below=0.0,
    ),
)
NAMES = st.sampled_from(["ada", "ana", "bob", None])
records_strategy = st.lists(
    st.fixed_dictionaries(
        {
            "first_name": NAMES,
            "last_name": st.sampled_from(["king", "king", "byron", None]),
            "city": st.sampled_from(["leeds", "york", None]),
        }
    ),
    min_size=1,
    max_size=14,
).map(lambda rows: [{**r, "source": "crm", "source_id": str(i)} for i, r in enumerate(rows)])


def scores(result: object) -> dict[tuple[str, str], float]:
    return {(x.record_a, x.record_b): round(x.probability, 9) for x in result.scored_links()}  # type: ignore[attr-defined]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records_strategy, st.data())
def test_incremental_equals_full_when_groups_cross_the_cap(records: list[dict], data: st.DataObject) -> None:
    # Yesterday: some records, a few in an older version, some since deleted.
    n_old = data.draw(st.integers(0, len(records)))
    edited = data.draw(st.sets(st.integers(0, max(n_old - 1, 0)), max_size=3)) if n_old else set()
    yesterday = [dict(r) for r in records[:n_old]]
    for i in edited:
        yesterday[i]["last_name"], yesterday[i]["city"] = "king", "leeds"
    gone = data.draw(st.integers(0, 3))
    yesterday += [  # the gone records held groups over the cap yesterday
        {"source": "crm", "source_id": f"gone{j}", "first_name": "ada", "last_name": "king", "city": "leeds"}
        for j in range(gone)
    ]
    before = stitch(yesterday, CAPPED, model=MODEL)
    changed = [f"crm:{r['source_id']}" for i, r in enumerate(records) if i >= n_old or i in edited]
    incremental = stitch(
        records,
        CAPPED,
        model=MODEL,
        changed=changed,
        earlier=before.scored_links(),
        earlier_levels=before.block_levels(),
    )
    full = stitch(records, CAPPED, model=MODEL)
    assert incremental.clusters() == full.clusters()
    assert scores(incremental) == scores(full)


def test_a_group_that_drops_under_the_cap_is_scored_whole_again() -> None:
    # Yesterday four kings (over the cap of 3: split by first name); today one is gone and
    # the three left, none of them changed, are one group again.
    kings = [
        {"source": "crm", "source_id": str(i), "first_name": n, "last_name": "king", "city": None}
        for i, n in enumerate(["ada", "ana", "bob", "ada"])
    ]
    before = stitch(kings, CAPPED, model=MODEL)
    assert before.blocking.rules[0].capped_blocks == 1
    today = kings[:3]
    full = stitch(today, CAPPED, model=MODEL)
    incremental = stitch(
        today,
        CAPPED,
        model=MODEL,
        changed=[],
        earlier=before.scored_links(),
        earlier_levels=before.block_levels(),
    )
    assert scores(incremental) == scores(full)
    assert ("crm:0", "crm:1") in scores(full)  # ada and ana: compared now the group fits


def test_no_records_make_no_profiles() -> None:
    # An incremental run's yesterday may be empty (nothing synced yet).
    result = stitch([], CAPPED, model=MODEL)
    assert result.clusters() == [] and result.block_levels() == {}
