"""Write-back reconciliation: N profiles sent to the HubSpot sandbox, then read back and
compared with the snapshot; and the anomaly detector over a year of hourly runs.

- `send`: the write-back (as bench/writeback_diff.py's first phase);
- `reconcile`: `reconcile_writeback` in its own process (its peak RSS is its own): the
  destination read back 100 a page, the warehouse table read and prepared, the compare;
- `detect`: every run of a year of hourly runs of one stream judged against its window
  (8,760 judgements of the seven series), as `end_run` does after each.

    python bench/writeback_reconcile.py [--rows 100000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._memory import peak_rss_mb  # noqa: E402
from bench.writeback_diff import WORKSPACE, build_profiles  # noqa: E402
from bench.writeback_diff import phase as send_phase  # noqa: E402


def reconcile_phase(root: Path) -> dict[str, Any]:
    import logging

    from hub.context import HubContext
    from hub.reconcile.writeback import reconcile_writeback

    logging.disable(logging.WARNING)
    started = time.perf_counter()
    report = reconcile_writeback(HubContext(root), "out", "profiles")
    return {
        "seconds": time.perf_counter() - started,
        "report": report.to_dict(),
        "peak_rss_mb": peak_rss_mb(),
    }


def detect_phase() -> dict[str, Any]:
    import random

    from hub.monitoring import MonitoringConfig, judge_counts

    cfg, rng = MonitoringConfig(), random.Random(1)
    start = datetime(2026, 1, 5, tzinfo=UTC)
    history: list[tuple[datetime, dict[str, Any]]] = []
    found = 0
    started = time.perf_counter()
    for hour in range(24 * 365):
        at = start + timedelta(hours=hour)
        read = round((300 if at.weekday() >= 5 else 1000) * rng.uniform(0.9, 1.1))
        counts = {"writes_back": False, "read": read, "written": read, "dead_lettered": read // 50}
        window = history[-24 * cfg.window_days :]  # what load_metrics hands it
        found += len(judge_counts(counts, at, window, cfg, connection="c", stream="s", run_id=str(hour)))
        history.append((at, counts))
    return {"seconds": time.perf_counter() - started, "runs": 24 * 365, "anomalies": found}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase == "send":
        print(json.dumps(send_phase(Path(args.root), args.url), default=str))
        return
    if args.phase == "reconcile":
        print(json.dumps(reconcile_phase(Path(args.root)), default=str))
        return

    from hub.sandbox import Sandbox

    with tempfile.TemporaryDirectory() as tmp, Sandbox(seed=1, scale=10, port=0) as sb:
        root = Path(tmp)
        (root / "crossdock.yaml").write_text(WORKSPACE.format(url=sb.url))
        build_profiles(root, args.rows)
        print(f"{args.rows:,} profiles -> HubSpot sandbox, then reconciled")
        for name in ("send", "reconcile"):
            out = subprocess.run(
                [sys.executable, __file__, "--phase", name, "--root", str(root), "--url", sb.url],
                capture_output=True,
                text=True,
                check=True,
            )
            result = json.loads(out.stdout.strip().splitlines()[-1])
            extra = ""
            if name == "reconcile":
                r = result["report"]
                extra = f"  equal {r['equal']:,}  differences {r['differences']}"
            print(
                f"  {name:9s}: {result['seconds']:7.1f} s  {args.rows / result['seconds']:>9,.0f} rows/s  "
                f"peak {result['peak_rss_mb']:,.0f} MB{extra}"
            )
    d = detect_phase()
    print(
        f"  detect   : {d['runs']:,} hourly runs judged in {d['seconds']:.1f} s "
        f"({d['runs'] / d['seconds']:,.0f} runs/s), {d['anomalies']} flagged"
    )


if __name__ == "__main__":
    main()
