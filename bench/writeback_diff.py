"""Write-back diffing: N profiles sent to the HubSpot sandbox, then the daily re-run.

Three phases, each in its own process (so each peak RSS is its own), on one
workspace: a warehouse SQLite file with N rows in `profiles`, a write-back
connection to the HubSpot sandbox (batch upsert, 100 per call), the hub store.

- `send`: the first write-back; every row is new to the snapshot and is sent;
- `unchanged`: the same table again; nothing changed, so no API call is made;
- `changed`: 1 % of the rows changed; only those are sent.

Each phase runs the real pipeline (warehouse source -> mapping -> diffing
destination -> HTTP), without Prefect. Printed per phase: rows read, API calls,
seconds, rows/s, peak RSS.

    python bench/writeback_diff.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._memory import peak_rss_mb  # noqa: E402

WORKSPACE = """\
version: 1
connections:
  out:
    source: {{warehouse: "sqlite:///warehouse.db"}}
    destination:
      type: hubspot
      config: {{base_url: "{url}", access_token: sandbox-token}}
    streams:
      profiles: {{sync_mode: full_refresh, mapping: warehouse/profiles, batch_size: 10000}}
"""


def build_profiles(root: Path, n: int, changed_every: int = 0) -> None:
    from hub.destinations import open_destination
    from hub.identity.run import profile_tables

    spec = profile_tables()["profiles"]
    stamp = datetime(2026, 11, 1, tzinfo=UTC)
    db = open_destination("sql", {"url": f"sqlite:///{root / 'warehouse.db'}"})
    try:
        db.prepare(spec, "overwrite")
        for start in range(0, n, 50_000):
            db.write(
                spec,
                "overwrite",
                [
                    {
                        "profile_id": f"p{i:07d}",
                        "email": f"person{i}@example.org",
                        "phone": f"+4790{i % 1_000_000:06d}",
                        "first_name": f"First{i % 997}",
                        "last_name": f"Last{i % 1009}",
                        "city": "Bergen" if changed_every and i % changed_every == 0 else "Oslo",
                        "country": "NO",
                        "lifecycle_stage": "lead",
                        "record_count": 1,
                        "sources": "hubspot",
                        "confidence": 1.0,
                        "last_updated_at": stamp,
                        "stitched_at": stamp,
                        "run_id": "bench",
                    }
                    for i in range(start, min(n, start + 50_000))
                ],
            )
        db.finish(spec, "overwrite")
    finally:
        db.close()


def phase(root: Path, url: str) -> dict[str, Any]:
    """One write-back run in this process; the sandbox runs in the parent."""
    import logging

    from hub.context import HubContext
    from hub.pipeline.plan import plan_stream
    from hub.pipeline.run import begin_run
    from hub.pipeline.stream import sync_stream

    logging.disable(logging.WARNING)
    ctx = HubContext(root)
    conn = ctx.workspace().connection("out")
    run_id = begin_run(ctx, "out", False)
    started = time.perf_counter()
    info = sync_stream(plan_stream(ctx, conn, "profiles", run_id, False))
    seconds = time.perf_counter() - started
    return {"read": info.read, "seconds": seconds, "writeback": info.writeback, "peak_rss_mb": peak_rss_mb()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(phase(Path(args.root), args.url)))
        return

    from hub.sandbox import Sandbox

    with tempfile.TemporaryDirectory() as tmp, Sandbox(seed=1, scale=10, port=0) as sb:
        root = Path(tmp)
        (root / "crossdock.yaml").write_text(WORKSPACE.format(url=sb.url))
        build_profiles(root, args.rows)
        print(f"{args.rows:,} profiles -> HubSpot sandbox (batch upsert, 100 per call)")
        for name in ("send", "unchanged", "changed"):
            if name == "changed":
                build_profiles(root, args.rows, changed_every=100)
            calls = sum(n for (p, _), n in sb.hits.items() if p.endswith("/batch/upsert"))
            out = subprocess.run(
                [sys.executable, __file__, "--phase", name, "--root", str(root), "--url", sb.url],
                capture_output=True,
                text=True,
                check=True,
            )
            result = json.loads(out.stdout.strip().splitlines()[-1])
            calls = sum(n for (p, _), n in sb.hits.items() if p.endswith("/batch/upsert")) - calls
            wb = result["writeback"]
            print(
                f"  {name:9s}: read {result['read']:>9,}  sent {wb['accepted']:>9,}  "
                f"unchanged {wb['unchanged']:>9,}  API calls {calls:>6,}  "
                f"{result['seconds']:7.1f} s  {result['read'] / result['seconds']:>9,.0f} rows/s  "
                f"peak {result['peak_rss_mb']:,.0f} MB"
            )


if __name__ == "__main__":
    main()
