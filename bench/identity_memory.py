"""Where a stitch's memory and time go: peak RSS per phase, sampled every 20 ms.

    python bench/identity_memory.py [--persons 400000] [--memory-limit 2GB]   # ~1,000,000 records
    python bench/identity_memory.py --generator zipf --records 1000000        # bench/people_zipf.py

Stitches hub/identity/synthetic.py's people with bench/identity.py's config and
prints, per phase of `stitch()` (identifier extraction, the graph, match
columns, DuckDB's blocking / training / scoring, merges), its wall and CPU
seconds and the process's peak RSS while it ran; then F1, the blocking counts
per rule, and the whole process's peak (VmHWM). CPU seconds are the number to
compare on a busy machine. Linux only (/proc/self/status).
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import hub.identity.match as match
import hub.identity.stitching as stitching
from bench.identity import BENCH_CONFIG, config_for, pairwise, people
from hub.identity.synthetic import synthetic_people

PHASES = {
    stitching: (
        "index_identifiers",
        "find_households",
        "_match_columns",
        "link_by_identifiers",
        "_apply_matches",
    ),
    match: ("_records_table", "build_blocks", "_train", "_final_scores"),
}


def _status(field: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


class PhasePeaks:
    """Samples RSS in a thread and keeps the peak per named phase."""

    def __init__(self) -> None:
        self.phase = "input"
        self.peaks: dict[str, float] = {}

    def run(self) -> None:
        while True:
            self.peaks[self.phase] = max(self.peaks.get(self.phase, 0.0), _status("VmRSS"))
            time.sleep(0.02)

    def wrap(self, module: Any, name: str) -> None:
        fn: Callable[..., Any] = getattr(module, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            outer, self.phase = self.phase, name
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                took, used = time.perf_counter() - wall, time.process_time() - cpu
                peak = self.peaks.get(name, 0.0)
                print(
                    f"  {name:20s} {took:6.1f} s wall {used:6.1f} s cpu  peak RSS {peak:,.0f} MB", flush=True
                )
                self.phase = f"{outer} (after {name})"

        setattr(module, name, timed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=400_000)
    parser.add_argument("--memory-limit", default="2GB")
    parser.add_argument("--generator", choices=("seeded", "zipf"), default="seeded")
    parser.add_argument("--records", type=int, help="zipf: about this many records (default 1,000,000)")
    args = parser.parse_args()
    peaks = PhasePeaks()
    threading.Thread(target=peaks.run, daemon=True).start()
    for module, names in PHASES.items():
        for name in names:
            peaks.wrap(module, name)
    if args.generator == "zipf":
        records = list(people("zipf", args.records or 1_000_000))
        config = config_for("zipf", records)
    else:
        records, config = list(synthetic_people(args.persons)), BENCH_CONFIG
    truth = np.array([r.pop("person") for r in records], dtype=np.int64)
    print(f"{len(records):,} records; RSS {_status('VmRSS'):,.0f} MB holding them", flush=True)
    peaks.phase = "stitch"
    wall, cpu = time.perf_counter(), time.process_time()
    result = stitching.stitch(records, config.model_copy(update={"memory_limit": args.memory_limit}))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    p, r, f1 = pairwise(result.labels, truth)
    print(f"stitch: {wall:.1f} s wall, {cpu:.1f} s cpu; P={p:.4f} R={r:.4f} F1={f1:.4f}")
    for rule in result.blocking.rules:
        print(
            f"  rule {rule.rule}: {rule.pairs:,} pairs ({rule.pairs_uncapped:,} uncapped), largest group "
            f"{rule.largest_block:,}, {rule.capped_blocks:,} capped, {rule.skipped_records:,} records skipped"
        )
    print(f"candidate pairs {result.blocking.candidate_pairs:,}; peak RSS (VmHWM) {_status('VmHWM'):,.0f} MB")


if __name__ == "__main__":
    main()
