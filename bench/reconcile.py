"""Reconcile compare throughput: a 1M-row stream whose source keys and checksums are already
read, compared in the warehouse's own engine (hub/reconcile/compare.py).

Before the clock: the warehouse table is filled through our destination (checksums and all)
and the source side is built as (key, checksum, pending) tuples, with planted differences
(0.01% each of missing, extra, stale). On the clock: the source side loaded into the scratch
table and the compare (counts, exact key sets, checksums, sample keys). Each engine runs in
its own process so its peak RSS is its own.

    python bench/reconcile.py [--rows 1000000] [--only postgres,sqlite,duckdb]

With `--end-to-end N`: N HubSpot contacts synced from the sandbox into SQLite through the
real pipeline, then `reconcile_connection` on that connection twice: with HubSpot's keys-only
read (the default: `properties=hs_object_id`) and with `content=True` (every contact read
whole, checksummed, compared); records/s of each, each in its own process.

    python bench/reconcile.py --end-to-end 100000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._memory import peak_rss_mb  # noqa: E402

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


def measure(engine: str, n: int, workdir: Path) -> dict[str, Any]:
    from hub.destinations import LINEAGE_COLUMNS, TableSpec, open_destination
    from hub.destinations.checksum import row_hasher
    from hub.reconcile.compare import WarehouseCompare
    from hub.reconcile.report import StreamReport

    config: dict[str, Any] = {
        "url": {
            "sqlite": f"sqlite:///{workdir / 'wh.db'}",
            "postgres": PG_URL,
            "duckdb": f"duckdb:///{workdir / 'wh.duckdb'}",
        }[engine]
    }
    schema = None
    if engine == "postgres":
        import psycopg

        schema = f"breconcile_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(PG_URL, autocommit=True) as db:
            db.execute(f'CREATE SCHEMA "{schema}"')  # type: ignore[arg-type]
        config["schema"] = schema
    dest = open_destination("sql", config)
    try:
        cols = {"source_id": "string", "email": "string", "city": "string"}
        spec = TableSpec("contacts", {**cols, **LINEAGE_COLUMNS}, ("source_id",))  # type: ignore[arg-type]
        hasher = row_hasher(cols)
        diff = max(1, n // 10_000)  # planted: missing, extra, stale
        dest.prepare(spec, "merge")
        for start in range(0, n, 50_000):
            batch = [
                {"source_id": str(i), "email": f"p{i}@example.com", "city": "Oslo", "_cd_run_id": "r"}
                for i in range(start, min(start + 50_000, n))
            ]
            dest.write(spec, "merge", batch)
        source = []
        for i in range(diff, n + diff):  # the first `diff` keys are extra, the last `diff` missing
            row = {"source_id": str(i), "email": f"p{i}@example.com", "city": "Oslo"}
            if i % (n // diff) == 1:  # stale: changed at the source
                row["city"] = "Bergen"
            source.append(((row["source_id"],), hasher(row), False))
        compare = WarehouseCompare(dest, "contacts", ("source_id",), {"source_id": "string"})
        started, cpu = time.perf_counter(), time.process_time()
        compare.load_source(source)
        loaded = time.perf_counter() - started
        report = compare.compare(StreamReport("bench", "contacts", "contacts"))
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu  # all the process's threads (DuckDB runs several)
        compare.drop()
        assert report.missing == diff and report.extra == diff, report
        return {
            "engine": engine,
            "rows": n,
            "seconds": round(seconds, 2),
            "load_seconds": round(loaded, 2),
            "cpu_seconds": round(cpu, 2),
            "rows_per_s": round(n / seconds),
            "peak_mb": round(peak_rss_mb()),
            "missing": report.missing,
            "extra": report.extra,
            "stale": report.stale,
        }
    finally:
        dest.close()
        if schema:
            import psycopg

            with psycopg.connect(PG_URL, autocommit=True) as db:
                db.execute(f'DROP SCHEMA "{schema}" CASCADE')  # type: ignore[arg-type]


def end_to_end(part: str, url: str, workdir: Path) -> dict[str, Any]:
    """One part of --end-to-end in this process: the sync, or a reconcile after it (`keys`: the
    keys-only read, `content`: the full read with checksums)."""
    import os

    from bench.sync_throughput import WORKSPACE
    from flows.sync import sync_connection
    from hub.context import HubContext
    from hub.reconcile.run import reconcile_connection

    stream = "      contacts: {mapping: hubspot/contacts, sync_mode: incremental, write_mode: merge}"
    (workdir / "crossdock.yaml").write_text(
        WORKSPACE.format(url=url, db=workdir / "wh.db", parallel=1, streams=stream)
    )
    os.environ["CROSSDOCK_STORE_URL"] = f"sqlite:///{workdir / 'hub.db'}"
    started, cpu = time.perf_counter(), time.process_time()
    if part == "sync":
        summary = sync_connection("bench", full_refresh=True, workspace_dir=str(workdir)).to_dict()
        assert summary["status"] == "succeeded", summary
        records = summary["streams"]["contacts"]["written"]
        found = ""
    else:  # "keys": HubSpot's keys-only read (the default); "content": a full read, checksums
        report = reconcile_connection(HubContext(workdir), "bench", content=part == "content").streams[0]
        assert report.status == "clean", (report.status, report.error)
        records = report.source
        found = f"{report.equal:,} equal, {report.differences} differences"
    seconds = time.perf_counter() - started
    return {
        "part": part,
        "records": records,
        "seconds": round(seconds, 2),
        "cpu_seconds": round(time.process_time() - cpu, 2),
        "rec_per_s": round(records / seconds),
        "peak_mb": round(peak_rss_mb()),
        "found": found,
    }


def run_end_to_end(n: int) -> None:
    from bench.sync_throughput import _wait_for, free_port

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    sandbox = subprocess.Popen(
        [sys.executable, "-c", f"from hub.sandbox import serve\nserve(port={port}, seed=42, scale={n})"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    print(f"{n:,} HubSpot contacts from the sandbox into SQLite, synced then reconciled")
    try:
        _wait_for(url)
        with tempfile.TemporaryDirectory() as tmp:
            for part in ("sync", "keys", "content"):  # the reconciles check what the sync wrote
                out = subprocess.run(
                    [sys.executable, __file__, "--part", f"e2e:{part}", "--url", url, "--workdir", tmp],
                    check=True,
                    capture_output=True,
                    text=True,
                    cwd=ROOT,
                )
                r = json.loads(out.stdout.strip().splitlines()[-1])
                print(
                    f"  {r['part']:<9} {r['records']:>9,} records in {r['seconds']:6.2f} s "
                    f"(CPU {r['cpu_seconds']:.2f} s) = {r['rec_per_s']:>7,} rec/s, "
                    f"peak {r['peak_mb']:,} MB  {r['found']}"
                )
    finally:
        sandbox.terminate()
        sandbox.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--only", default="postgres,sqlite,duckdb")
    parser.add_argument("--end-to-end", type=int, metavar="N", help="sync then reconcile N sandbox contacts")
    parser.add_argument("--part", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.part and args.part.startswith("e2e:"):
        print(json.dumps(end_to_end(args.part.removeprefix("e2e:"), args.url, Path(args.workdir))))
        return
    if args.end_to_end:
        run_end_to_end(args.end_to_end)
        return
    if args.part:
        with tempfile.TemporaryDirectory() as tmp:
            print(json.dumps(measure(args.part, args.rows, Path(tmp))))
        return
    print(f"reconcile compare of {args.rows:,} rows (source keys + checksums already read)")
    for engine in args.only.split(","):
        out = subprocess.run(
            [sys.executable, __file__, "--rows", str(args.rows), "--part", engine],
            check=True,
            capture_output=True,
            text=True,
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"  {r['engine']:<9} {r['seconds']:>6.2f} s (load {r['load_seconds']:.2f} s, "
            f"CPU {r['cpu_seconds']:.2f} s)  "
            f"{r['rows_per_s']:>10,} rows/s  "
            f"peak {r['peak_mb']:,} MB  "
            f"(found {r['missing']} missing, {r['extra']} extra, {r['stale']} stale)"
        )


if __name__ == "__main__":
    main()
