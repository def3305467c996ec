"""The govern step on N mapped contact rows: consent + region + PII hashing, rows/s, beside the
HubSpot contact mapping's rows/s measured in the same run.

The rows are canonical contacts (what the mapping hands the govern step) of `--people`
people, a third of them with OneTrust-style consent histories (1-4 decisions each); the
destination has purpose email_marketing, region eu, and hashes email and phone, tokenises
first_name, drops last_name; the contact's other text fields are scanned for unclassified PII,
as `governor_for` sets it up. Each batch of 5,000 rows is made just before it is governed and
dropped after, as the pipeline does (map a batch, govern, write, drop it); `--in-memory` builds
all rows first and holds them, as this bench did before (the garbage collector then walks them
all: about 1.5 us/row more). Goal (the governance issue): the govern step under 10% of the
sync's own time per row (bench/sync_throughput.py: 15,200 - 19,500 records/s here).

    python bench/governance.py [--rows 1000000] [--people 400000] [--mapping-records 100000] [--in-memory]
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench._memory import peak_rss_mb
from hub.canonical import get_entity
from hub.governance.build import unclassified_fields
from hub.governance.config import GovernanceConfig
from hub.governance.people import PersonIndex
from hub.governance.step import Governor, build_policies

ROOT = Path(__file__).resolve().parents[1]
BATCH = 5000  # the pipeline's default batch size
COUNTRIES = ["Germany", "United States", "United Kingdom", "Portugal", "Canada", None]
CONFIG = GovernanceConfig.model_validate(
    {
        "purposes": {"email_marketing": {"consent": ["newsletter"]}},
        "regions": {
            "eu": {"countries": ["Germany", "Portugal"], "consent": "opt_in", "send_to": ["eu"]},
            "uk": {"countries": ["United Kingdom"], "consent": "opt_in", "send_to": ["eu", "uk"]},
            "us": {"countries": ["United States", "Canada"], "consent": "opt_out", "send_to": ["us", "eu"]},
        },
        "pii": {"bench": {"email": "hash", "phone": "hash", "first_name": "tokenise", "last_name": "drop"}},
    }
)


def _consents(people: int, rng: random.Random) -> list[dict[str, Any]]:
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    consents = []
    for p in range(0, people, 3):
        for n in range(rng.randint(1, 4)):
            consents.append(
                {
                    "source": "onetrust",
                    "source_id": f"{p}:{n}",
                    "email": f"person{p}@example.org",
                    "purpose": "newsletter",
                    "event": rng.choice(("granted", "granted", "withdrawn", "pending")),
                    "occurred_at": t0 + timedelta(hours=rng.randint(0, 9000)),
                }
            )
    return consents


def _batches(rows: int, people: int, rng: random.Random) -> Iterator[list[dict[str, Any]]]:
    """The mapped rows, a batch at a time (the same rows, whatever the batching)."""
    for start in range(0, rows, BATCH):
        batch = []
        for i in range(start, min(start + BATCH, rows)):
            p = rng.randrange(people)
            batch.append(
                {
                    "source": "hubspot",
                    "source_id": str(i),
                    "email": f"person{p}@example.org",
                    "phone": f"+1555{p:07d}",
                    "first_name": f"First{p}",
                    "last_name": f"Last{p}",
                    "country": COUNTRIES[p % len(COUNTRIES)],
                    "city": "Somewhere",
                    "lifecycle_stage": "lead",
                }
            )
        yield batch


def _mapping_rate(records: int) -> float:
    from hub.mapping import load_mapping
    from hub.sandbox import Sandbox

    source = list(Sandbox(seed=42, scale=records).hubspot.objects("contacts").values())
    mapping = load_mapping(ROOT / "mappings" / "hubspot" / "contacts.yaml")
    started = time.process_time()  # CPU time: the machine is shared, wall time is noisy
    for i in range(0, len(source), 5000):
        mapping.map_batch(source[i : i + 5000])
    return len(source) / (time.process_time() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--people", type=int, default=400_000)
    parser.add_argument("--mapping-records", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--in-memory", action="store_true", help="build and hold every row first")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    consents = _consents(args.people, rng)

    started = time.perf_counter()
    index = PersonIndex.build(CONFIG, consents)
    index_seconds = time.perf_counter() - started
    governor = Governor(
        connection="bench",
        stream="contacts",
        entity="contact",
        policies=build_policies(CONFIG, "bench", "email_marketing", "eu", False, b"k" * 32),
        key_fields=("source", "source_id"),
        load_people=lambda: index,
        unclassified=unclassified_fields(get_entity("contact"), CONFIG.pii["bench"]),
    )
    batches: Iterable[list[dict[str, Any]]] = _batches(args.rows, args.people, rng)
    if args.in_memory:
        batches = list(batches)
    kept, cpu, seconds = 0, 0.0, 0.0
    for batch in batches:  # only the govern step is timed
        started, cpu_started = time.perf_counter(), time.process_time()
        kept += len(governor.apply(batch, run_id="bench").rows)
        seconds += time.perf_counter() - started
        cpu += time.process_time() - cpu_started
    govern_rate = args.rows / cpu
    mapping_rate = _mapping_rate(args.mapping_records)
    report = governor.report() or {}
    print(
        f"govern: {args.rows:,} rows in {cpu:.2f}s CPU ({seconds:.2f}s wall) = {govern_rate:,.0f} rows/s "
        f"({cpu / args.rows * 1e6:.2f} us/row CPU); {kept:,} kept, {report.get('dropped', 0):,} dropped "
        f"(consent + region), {report.get('changed', 0):,} PII-changed; people index of "
        f"{len(consents):,} consents built in {index_seconds:.2f}s"
    )
    print(
        f"mapping (hubspot/contacts, {args.mapping_records:,} sandbox records): {mapping_rate:,.0f} rows/s "
        f"CPU ({1e6 / mapping_rate:.2f} us/row); govern / mapping per row: {mapping_rate / govern_rate:.2f}"
    )
    for sync_rate in (15_200, 19_500):  # bench/sync_throughput.py's range on this machine
        print(f"govern / sync time per row at {sync_rate:,} records/s: {sync_rate / govern_rate:.1%}")
    print(f"peak RSS {peak_rss_mb():,.0f} MB")


if __name__ == "__main__":
    main()
