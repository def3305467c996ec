"""Load throughput: N mapped contact rows into each SQL destination, beside a raw baseline.

For SQLite, PostgreSQL and DuckDB, the same seeded rows (canonical contact
columns plus the lineage columns) are written twice, each in its own process
so that its peak RSS is its own:

- `append` and `merge`: our destination (`hub.destinations.open_destination`)
  in that mode (merge: on the key (source, source_id)) into a new table,
  batches of --batch rows, one transaction per batch, as the pipeline does;
- `remerge`: merge again into the table `merge` filled (loaded before the
  clock starts), so every key exists: the update path of a daily sync;
- `raw`: the plain fast path for that engine, same rows, same batches,
  appended to a table with no key: dicts to tuples, then one executemany per
  batch (SQLite), COPY (PostgreSQL), an Arrow table insert (DuckDB).

Rows (dicts, as the mapping produces them) are generated in the measuring
process before the clock starts.

    python bench/load_throughput.py [--rows 1000000] [--batch 5000] [--only sqlite,duckdb]
"""

from __future__ import annotations

import argparse
import json
import operator
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._memory import peak_rss_mb  # noqa: E402

# Another database keeps a run apart from others' (its `bench_*` schemas are dropped at the end).
PG_URL = os.environ.get("CROSSDOCK_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")

COLUMNS: dict[str, str] = {
    "source": "string",
    "source_id": "string",
    "email": "string",
    "phone": "string",
    "first_name": "string",
    "last_name": "string",
    "company_id": "string",
    "lifecycle_stage": "string",
    "country": "string",
    "created_at": "datetime",
    "updated_at": "datetime",
    "_cd_connection": "string",
    "_cd_stream": "string",
    "_cd_run_id": "string",
    "_cd_extracted_at": "datetime",
    "_cd_mapping_version": "string",
}


def make_rows(n: int, seed: int) -> list[dict[str, Any]]:
    rnd = random.Random(seed)
    base = datetime(2024, 1, 1, tzinfo=UTC)
    now, run = datetime.now(UTC), uuid.uuid4().hex
    stages = ["lead", "subscriber", "customer", "opportunity"]
    return [
        {
            "source": "hubspot",
            "source_id": str(i),
            "email": f"person{i}@example.com",
            "phone": f"+4790{rnd.randrange(10**6):06d}",
            "first_name": f"First{i % 997}",
            "last_name": f"Last{i % 1009}",
            "company_id": str(rnd.randrange(1000)),
            "lifecycle_stage": rnd.choice(stages),
            "country": "NO",
            "created_at": base + timedelta(seconds=i),
            "updated_at": base + timedelta(minutes=i),
            "_cd_connection": "bench",
            "_cd_stream": "contacts",
            "_cd_run_id": run,
            "_cd_extracted_at": now,
            "_cd_mapping_version": "v1",
        }
        for i in range(n)
    ]


def batches(rows: list[Any], size: int) -> list[list[Any]]:
    return [rows[i : i + size] for i in range(0, len(rows), size)]


def url_for(engine: str, workdir: Path) -> str:
    return {
        "sqlite": f"sqlite:///{workdir / 'ours.db'}",
        "postgres": PG_URL,
        "duckdb": f"duckdb:///{workdir / 'ours.duckdb'}",
    }[engine]


def run_ours(engine: str, rows: list[dict[str, Any]], size: int, workdir: Path, path: str = "merge") -> float:
    from hub.destinations import TableSpec, open_destination

    config: dict[str, Any] = {"url": url_for(engine, workdir)}
    if engine == "postgres":
        config["schema"] = _fresh_pg_schema()
    mode = "append" if path == "append" else "merge"
    key = ("source", "source_id") if mode == "merge" else ()
    spec = TableSpec("contacts", COLUMNS, key=key)  # type: ignore[arg-type]
    dest = open_destination("sql", config)
    if path == "remerge":  # every key there before the clock starts
        dest.prepare(spec, mode)  # type: ignore[arg-type]
        for batch in batches(rows, size):
            dest.write(spec, mode, batch)  # type: ignore[arg-type]
    started = time.perf_counter()
    dest.prepare(spec, mode)  # type: ignore[arg-type]
    for batch in batches(rows, size):
        dest.write(spec, mode, batch)  # type: ignore[arg-type]
    dest.finish(spec, mode)  # type: ignore[arg-type]
    seconds = time.perf_counter() - started
    assert dest.count("contacts") == len(rows)
    dest.close()
    return seconds


def run_raw(engine: str, rows: list[dict[str, Any]], size: int, workdir: Path) -> float:
    names = list(COLUMNS)
    started = time.perf_counter()
    # Both paths start from the same dicts; a loader has to make them tuples.
    tuples = list(map(operator.itemgetter(*names), rows))
    if engine == "sqlite":  # datetimes as ISO text; only those columns are touched
        when = [i for i, t in enumerate(COLUMNS.values()) if t == "datetime"]
        converted = []
        for t in tuples:
            values = list(t)
            for i in when:
                values[i] = values[i].isoformat()
            converted.append(tuple(values))
        tuples = converted
    if engine == "sqlite":
        import sqlite3

        db = sqlite3.connect(workdir / "raw.db", isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute(f"CREATE TABLE c ({', '.join(names)})")
        sql = f"INSERT INTO c VALUES ({', '.join('?' * len(names))})"
        for batch in batches(tuples, size):
            db.execute("BEGIN")
            db.executemany(sql, batch)
            db.execute("COMMIT")
        db.close()
    elif engine == "postgres":
        import psycopg

        schema = _fresh_pg_schema()
        with psycopg.connect(PG_URL, autocommit=True) as db:
            types = {"string": "TEXT", "datetime": "TIMESTAMPTZ"}
            db.execute(
                f'CREATE TABLE "{schema}".c '  # type: ignore[arg-type]
                f"({', '.join(f'{c} {types[t]}' for c, t in COLUMNS.items())})"
            )
            for batch in batches(tuples, size):
                with db.transaction(), db.cursor() as cur:
                    with cur.copy(f'COPY "{schema}".c FROM STDIN') as copy:  # type: ignore[arg-type]
                        for t in batch:
                            copy.write_row(t)
    else:
        import duckdb
        import pyarrow as pa

        db = duckdb.connect(str(workdir / "raw.duckdb"))
        sql_types = {"string": "VARCHAR", "datetime": "TIMESTAMPTZ"}
        db.execute(f"CREATE TABLE c ({', '.join(f'{c} {sql_types[t]}' for c, t in COLUMNS.items())})")
        schema = pa.schema(
            [(c, pa.string() if t == "string" else pa.timestamp("us", tz="UTC")) for c, t in COLUMNS.items()]
        )
        for batch in batches(tuples, size):
            table = pa.Table.from_arrays(
                [pa.array(col, type=f.type) for col, f in zip(zip(*batch, strict=True), schema, strict=True)],
                schema=schema,
            )
            db.register("b", table)
            db.execute("INSERT INTO c SELECT * FROM b")
            db.unregister("b")
        db.close()
    return time.perf_counter() - started


def _fresh_pg_schema() -> str:
    import psycopg

    name = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_URL, autocommit=True) as db:
        db.execute(f'CREATE SCHEMA "{name}"')  # type: ignore[arg-type]
    return name


def _drop_bench_schemas() -> None:
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as db:
        for (name,) in db.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'bench_%'"):
            db.execute(f'DROP SCHEMA "{name}" CASCADE')  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--only", default="sqlite,postgres,duckdb")
    parser.add_argument("--part", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.part:  # a child process measuring one (engine, path)
        engine, path = args.part.split(":")
        rows = make_rows(args.rows, args.seed)
        base_mb = peak_rss_mb()
        if path == "raw":
            seconds = run_raw(engine, rows, args.batch, Path(args.workdir))
        else:
            seconds = run_ours(engine, rows, args.batch, Path(args.workdir), path=path)
        print(json.dumps({"seconds": seconds, "peak_mb": peak_rss_mb(), "rows_mb": base_mb}))
        return

    print(f"{args.rows:,} rows, batches of {args.batch:,}, {len(COLUMNS)} columns")
    print(
        f"{'destination':<10} {'path':<7} {'records/s':>10} {'seconds':>8} {'peak RSS':>9} "
        f"{'of which the rows':>18}"
    )
    try:
        for engine in args.only.split(","):
            results = {}
            for path in ("raw", "append", "merge", "remerge"):
                with tempfile.TemporaryDirectory() as tmp:
                    out = subprocess.run(
                        [
                            sys.executable,
                            __file__,
                            "--part",
                            f"{engine}:{path}",
                            "--workdir",
                            tmp,
                            "--rows",
                            str(args.rows),
                            "--batch",
                            str(args.batch),
                            "--seed",
                            str(args.seed),
                        ],
                        check=True,
                        capture_output=True,
                        text=True,
                    ).stdout
                r = results[path] = json.loads(out.strip().splitlines()[-1])
                print(
                    f"{engine:<10} {path:<7} {args.rows / r['seconds']:>10,.0f} "
                    f"{r['seconds']:>8.2f} {r['peak_mb']:>6.0f} MB {r['rows_mb']:>15.0f} MB"
                )
            raw = results["raw"]["seconds"]
            print(
                f"{engine:<10} time vs raw: append {results['append']['seconds'] / raw:.2f}x, "
                f"merge {results['merge']['seconds'] / raw:.2f}x, "
                f"remerge {results['remerge']['seconds'] / raw:.2f}x"
            )
    finally:
        if "postgres" in args.only:
            _drop_bench_schemas()


if __name__ == "__main__":
    main()
