"""Mapping throughput: the HubSpot contact mapping on N sandbox-shaped records.

python bench/mapping_throughput.py [--records 100000]
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from pathlib import Path

from hub.mapping import load_mapping
from hub.sandbox import Sandbox

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    args = parser.parse_args()
    records = list(Sandbox(seed=42, scale=args.records).hubspot.objects("contacts").values())
    mapping = load_mapping(ROOT / "mappings" / "hubspot" / "contacts.yaml")
    started = time.perf_counter()
    batch = mapping.map_batch(records)
    seconds = time.perf_counter() - started
    tracemalloc.start()  # a second pass for memory: tracing slows the first one down
    mapping.map_batch(records)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    print(
        f"{len(records):,} records in {seconds:.2f}s = {len(records) / seconds:,.0f} records/s "
        f"({seconds / len(records) * 1e6:.1f} us/record); "
        f"{len(batch.rows):,} mapped, {len(batch.dead):,} dead-lettered; "
        f"peak traced memory {peak:,.0f} MB"
    )


if __name__ == "__main__":
    main()
