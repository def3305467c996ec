"""Identity stitching at scale: seeded people over six systems, scored against the truth.

    python bench/identity.py [--persons 400000]     # ~1,000,000 records

Prints pairwise precision / recall / F1 for identifiers alone and for the full
stitch (identifiers + probabilistic matching), wall time, and memory: the
process's RSS once the records are generated, and its peak during stitching.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

from hub.identity import IdentityConfig, MatchConfig, MatchField, stitch
from hub.identity.synthetic import synthetic_people


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=400_000)
    args = parser.parse_args()
    started = time.perf_counter()
    records = list(synthetic_people(args.persons))
    truth = np.array([r.pop("person") for r in records], dtype=np.int64)
    baseline = _rss_mb()
    print(
        f"generated {len(records):,} records for {args.persons:,} people "
        f"in {time.perf_counter() - started:.1f}s; RSS {baseline:,.0f} MB holding them"
    )

    only_ids = IdentityConfig(phone_region="GB", match=MatchConfig(enabled=False))
    for label, config in (("identifiers only", only_ids), ("identifiers + matching", BENCH_CONFIG)):
        started = time.perf_counter()
        result = stitch(records, config)
        seconds = time.perf_counter() - started
        p, r, f1 = pairwise(result.labels, truth)
        profiles = len(np.unique(result.labels))
        print(
            f"{label:24s} P={p:.4f} R={r:.4f} F1={f1:.4f}  {profiles:,} profiles, "
            f"{len(result.refusals):,} refused merges, {len(result.review):,} pairs for review, "
            f"{seconds:.1f}s = {len(records) / seconds:,.0f} records/s"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"peak RSS {peak:,.0f} MB (whole process); stitching added at most "
        f"{peak - baseline:,.0f} MB to the {baseline:,.0f} MB of input records"
    )


def _rss_mb() -> float:
    with open("/proc/self/status") as status:  # Linux; the bench says so in docs/benchmarks.md
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


if __name__ == "__main__":
    main()
