"""Identity stitching at scale, on two generators of people, scored against the truth.

    python bench/identity.py                                   # both generators, 100k records
    python bench/identity.py --generator zipf --records 100000 1000000

Generators: `seeded` (hub/identity/synthetic.py: six systems, evenly spread
made-up names, stitched with this bench's config) and `zipf`
(bench/people_zipf.py: real name frequencies, nicknames, households sharing a
landline, junk emails, name-only records, phones in every spelling; stitched
with the workspace defaults, narrowed to the fields the data has).

Each generator and size runs in its own process, so the peak RSS printed is that
of a whole process which generated the records and stitched them. Prints
pairwise precision / recall / F1, stitch seconds, peak RSS, and the candidate
pairs per blocking rule (and what the cap split or skipped).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: `bench` and `hub` from this checkout
    sys.path.insert(0, str(ROOT))

from bench._memory import peak_rss_mb  # noqa: E402
from hub.identity import IdentityConfig, MatchConfig, MatchField, stitch  # noqa: E402
from hub.identity.stitching import StitchResult  # noqa: E402

GENERATORS = ("seeded", "zipf")


def pairwise(labels: np.ndarray, truth: np.ndarray) -> tuple[float, float, float]:
    """Pairwise precision, recall and F1 of a clustering against true person ids."""

    def pairs(counts: np.ndarray) -> float:
        return float((counts * (counts - 1) // 2).sum())

    _, both = np.unique(labels.astype(np.int64) * (truth.max() + 1) + truth, return_counts=True)
    tp = pairs(both)
    predicted = pairs(np.unique(labels, return_counts=True)[1])
    actual = pairs(np.unique(truth, return_counts=True)[1])
    p, r = tp / predicted if predicted else 1.0, tp / actual if actual else 1.0
    return p, r, 2 * p * r / (p + r) if p + r else 0.0


BENCH_CONFIG = IdentityConfig(
    phone_region="GB",
    match=MatchConfig(
        fields=(
            MatchField(field="email", compare="exact"),
            MatchField(field="phone", compare="exact"),
            MatchField(field="first_name", compare="name", term_frequency=True),
            MatchField(field="last_name", compare="name", term_frequency=True),
            MatchField(field="city", compare="name", term_frequency=True),
            MatchField(field="postcode", compare="code"),
            MatchField(field="date_of_birth", compare="date"),
        ),
        # Pairs sharing an email or phone train the name and place weights.
        blocking=(("last_name", "first_name"), ("email",), ("phone",)),
    ),
)


def people(generator: str, records: int) -> Iterator[dict[str, object]]:
    """About `records` records: the generator's people until the count is reached (whole people)."""
    if generator == "seeded":
        from hub.identity.synthetic import synthetic_people as make
    else:
        from bench.people_zipf import zipf_people as make
    made, last = 0, None
    for rec in make(records):  # fewer people than records: never the limit
        if made >= records and rec["person"] != last:
            return
        made, last = made + 1, rec["person"]
        yield rec


def config_for(generator: str, records: Iterable[Mapping[str, object]]) -> IdentityConfig:
    if generator == "seeded":
        return BENCH_CONFIG
    return IdentityConfig().fitted_to(records)  # the workspace defaults; US phones


def rule_pairs(result: StitchResult) -> str:
    """Candidate pairs per blocking rule, and the groups the cap split or skipped."""
    lines = [
        f"{r.rule}: {r.pairs:,} pairs ({r.pairs_uncapped:,} uncapped), largest group {r.largest_block:,}, "
        f"{r.capped_blocks:,} capped -> {r.split_into:,} split, {r.skipped_blocks:,} skipped"
        for r in result.blocking.rules
    ]
    return "pairs per blocking rule:\n    " + "\n    ".join(lines or ["(no probabilistic matching)"])


def run_one(generator: str, records: int) -> None:
    started = time.perf_counter()
    data = list(people(generator, records))
    truth = np.array([r.pop("person") for r in data], dtype=np.int64)
    made = time.perf_counter() - started
    config = config_for(generator, data)
    held = peak_rss_mb()
    started = time.perf_counter()
    result = stitch(data, config)
    seconds = time.perf_counter() - started
    p, r, f1 = pairwise(result.labels, truth)
    print(
        f"{generator} {len(data):,} records ({len(np.unique(truth)):,} people, generated in {made:.0f}s): "
        f"P={p:.4f} R={r:.4f} F1={f1:.4f}  stitch {seconds:.1f}s = {len(data) / seconds:,.0f} records/s; "
        f"peak RSS {peak_rss_mb():,.0f} MB whole process ({held:,.0f} MB before stitching); "
        f"{len(np.unique(result.labels)):,} profiles, {len(result.refusals):,} refused merges, "
        f"{len(result.review):,} pairs for review"
    )
    if generator == "zipf":
        print("  fields and rules: " + "; ".join(config.explain_match()))
    print("  " + rule_pairs(result), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generator", choices=(*GENERATORS, "both"), default="both")
    parser.add_argument("--records", type=int, nargs="+", default=[100_000], help="e.g. 100000 1000000")
    parser.add_argument("--one", nargs=2, metavar=("GENERATOR", "RECORDS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:  # the child: one generator, one size, its own peak RSS
        run_one(args.one[0], int(args.one[1]))
        return
    generators = GENERATORS if args.generator == "both" else (args.generator,)
    for size in args.records:
        for generator in generators:
            done = subprocess.run([sys.executable, __file__, "--one", generator, str(size)], check=False)
            if done.returncode:
                print(f"{generator} {size:,}: the run failed (exit {done.returncode}); see above", flush=True)


if __name__ == "__main__":
    main()
