"""Read API: profile lookups per second through the API (a key, scope and consent on, every
access audited), beside the same lookup on the warehouse directly.

A workspace with N profiles (bulk-written with the hub's SQL writer into the stitched profile
tables: `profiles`, one consent event each on `profile_timeline`, the OneTrust consent rows
behind them; 90 % granted the newsletter), one key (entities=profile, fields=email,
purposes=newsletter). `crossdock serve-api` runs in its own process; the client (this process)
keeps C connections busy with GET /v1/profiles/{id} for random ids and times each answer.
Direct: the same lookup on the warehouse with sqlite3 (the profile row; and the profile row plus
the consent reads the policy makes).

    python bench/read_api.py [--profiles 1000000] [--seconds 10] [--connections 16] [--workers 2]
        [--workspace DIR]   # build there once and reuse it (1M profiles take minutes to write)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._memory import peak_rss_mb  # noqa: E402

WORKSPACE = """\
version: 1
connections:
  consent:
    source: {manifest: fake.yaml}
    destination: {type: sql, config: {url: "sqlite:///warehouse.db"}}
    streams:
      purpose_consents: {mapping: fake/consents, sync_mode: full_refresh}
      subjects: {mapping: fake/subjects, sync_mode: full_refresh}
"""
MAPPINGS = {
    "consents": "source: fake\nstream: purpose_consents\nentity: consent\nfields:\n"
    "  source: {const: onetrust}\n  source_id: {path: id}\n  purpose: {path: purpose}\n"
    "  event: {path: event}\n  occurred_at: {path: at}\n",
    "subjects": "source: fake\nstream: subjects\nentity: contact\nfields:\n  source: {const: onetrust}\n"
    "  source_id: {path: id}\n  email: {path: email}\n  updated_at: {path: at}\n",
}


def build(root: Path, n: int) -> None:
    from hub.canonical import get_entity
    from hub.destinations import LINEAGE_COLUMNS, TableSpec, open_destination
    from hub.identity.run import profile_tables

    (root / "fake.yaml").write_text(
        "version: 6.0.0\ntype: DeclarativeSource\nstreams:\n  - name: purpose_consents\n  - name: subjects\n"
    )
    (root / "mappings" / "fake").mkdir(parents=True)
    for name, text in MAPPINGS.items():
        (root / "mappings" / "fake" / f"{name}.yaml").write_text(text)
    (root / "crossdock.yaml").write_text(WORKSPACE)
    stamp = datetime(2026, 11, 1, tzinfo=UTC)
    tables = profile_tables()
    consent = TableSpec(
        "consent_purpose_consents",
        {f.name: f.type for f in get_entity("consent").fields} | LINEAGE_COLUMNS,
        key=("source", "source_id"),
    )

    def rows(table: str, i: int) -> dict[str, object]:
        pid = f"p{i:07d}"
        if table == "profiles":
            return {
                "profile_id": pid,
                "email": f"person{i}@example.org",
                "phone": f"+4790{i % 1_000_000:06d}",
                "first_name": f"First{i % 997}",
                "last_name": f"Last{i % 1009}",
                "city": "Oslo",
                "country": "NO",
                "lifecycle_stage": "lead",
                "record_count": 1,
                "sources": "onetrust",
                "confidence": 1.0,
                "last_updated_at": stamp,
                "stitched_at": stamp,
                "run_id": "bench",
            }
        event = "granted" if i % 10 else "withdrawn"
        if table == "profile_timeline":
            return {
                "profile_id": pid,
                "occurred_at": stamp,
                "event": f"consent {event}",
                "source": "onetrust",
                "stream": consent.name,
                "record_key": f"onetrust:consent:c{i}",
            }
        return {
            "source": "onetrust",
            "source_id": f"c{i}",
            "purpose": "newsletter",
            "event": event,
            "occurred_at": stamp,
            "_cd_extracted_at": stamp,
        }

    db = open_destination("sql", {"url": f"sqlite:///{root / 'warehouse.db'}"})
    try:
        for spec in (tables["profiles"], tables["profile_timeline"], consent):
            db.prepare(spec, "overwrite")
            for start in range(0, n, 50_000):
                db.write(
                    spec, "overwrite", [rows(spec.name, i) for i in range(start, min(n, start + 50_000))]
                )
            db.finish(spec, "overwrite")  # swaps the table in and builds its indexes
    finally:
        db.close()


# The statement the API runs for a lookup (hub/readapi/warehouse.py `_joined_sql`, SQLite).
JOINED = (
    "SELECT p.*, c.purpose, c.event, c.occurred_at FROM profiles p "
    "LEFT JOIN profile_timeline t ON t.profile_id = p.profile_id "
    "AND lower(substr(t.event, 1, 8)) = 'consent ' AND t.stream = 'consent_purpose_consents' "
    "LEFT JOIN consent_purpose_consents c ON instr(t.record_key, ':consent:') > 0 "
    "AND c.source = substr(t.record_key, 1, instr(t.record_key, ':consent:') - 1) "
    "AND c.source_id = substr(t.record_key, instr(t.record_key, ':consent:') + 9) "
    "WHERE p.profile_id = ?"
)


def direct(
    root: Path, ids: list[str], seconds: float, with_consent: bool, joined: bool = False
) -> tuple[float, list[float]]:
    """Lookups/s and per-lookup latencies on the warehouse with sqlite3, no API."""
    conn = sqlite3.connect(root / "warehouse.db")
    lat, started = [], time.perf_counter()
    i = 0
    while time.perf_counter() - started < seconds:
        t0 = time.perf_counter()
        pid = ids[i % len(ids)]
        if joined:
            conn.execute(JOINED, (pid,)).fetchall()
            lat.append(time.perf_counter() - t0)
            i += 1
            continue
        conn.execute('SELECT * FROM "profiles" WHERE profile_id = ?', (pid,)).fetchall()
        if with_consent:
            keys = conn.execute(
                "SELECT record_key, stream FROM profile_timeline "
                "WHERE profile_id = ? AND event LIKE 'consent %'",
                (pid,),
            ).fetchall()
            sids = [k.partition(":consent:")[2] for k, _ in keys]
            conn.execute(
                "SELECT purpose, event, occurred_at FROM consent_purpose_consents WHERE source = 'onetrust' "
                f"AND source_id IN ({', '.join('?' * len(sids))})",
                sids,
            ).fetchall()
        lat.append(time.perf_counter() - t0)
        i += 1
    return i / (time.perf_counter() - started), lat


async def through_api(
    port: int, token: str, ids: list[str], seconds: float, conns: int
) -> tuple[float, list[float], dict[int, int]]:
    """Keep `conns` keep-alive connections busy for `seconds`; a minimal HTTP/1.1 client, so the
    client's own cost stays small beside the server's."""
    lat: list[float] = []
    statuses: dict[int, int] = {}
    deadline = time.perf_counter() + seconds
    rng = random.Random(7)
    auth = f"Authorization: Bearer {token}"

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while time.perf_counter() < deadline:
            pid = ids[rng.randrange(len(ids))]
            t0 = time.perf_counter()
            writer.write(f"GET /v1/profiles/{pid} HTTP/1.1\r\nHost: x\r\n{auth}\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = int(
                next(
                    line.split(b":")[1]
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                )
            )
            await reader.readexactly(length)
            lat.append(time.perf_counter() - t0)
            statuses[status] = statuses.get(status, 0) + 1
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(conns)))
    return len(lat) / (time.perf_counter() - started), lat, statuses


def pct(lat: list[float], q: float) -> float:
    return statistics.quantiles(lat, n=100)[q - 1] * 1000 if len(lat) > 100 else max(lat) * 1000


def server_peak_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmHWM:"))


def tree(pid: int) -> list[int]:
    """The process and its children (the server's workers)."""
    with open(f"/proc/{pid}/task/{pid}/children") as children:
        return [pid, *(int(c) for c in children.read().split())]


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU the processes have used (their threads included)."""
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profiles", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1, help="`crossdock serve-api --workers`")
    parser.add_argument("--workspace", type=Path, help="build the workspace here once, then reuse it")
    args = parser.parse_args()
    crossdock = [sys.executable, "-m", "hub.cli"]
    with tempfile.TemporaryDirectory() as tmp:
        root = args.workspace or Path(tmp)
        built = root / f"built-{args.profiles}"
        if not built.exists():
            if root.exists() and any(root.iterdir()):
                sys.exit(
                    f"{root} is not empty and holds no bench build of {args.profiles:,}: name a new folder"
                )
            root.mkdir(parents=True, exist_ok=True)
            t0 = time.perf_counter()
            build(root, args.profiles)
            built.touch()
            print(f"built {args.profiles:,} profiles (+ consent rows) in {time.perf_counter() - t0:.1f} s")
        env = {**os.environ, "CROSSDOCK_WORKSPACE": str(root)}
        scope = ["--scope", "entities=profile", "--scope", "fields=email", "--scope", "purposes=newsletter"]
        made = subprocess.run(
            [
                *crossdock,
                "api-keys",
                "create",
                f"bench-{os.getpid()}",
                *scope,
                "--rate",
                "1000000/s",
                "--json",
            ],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
        token = json.loads(made.stdout)["token"]
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = subprocess.Popen(
            [*crossdock, "serve-api", "--port", str(port), "--workers", str(args.workers)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
        )
        try:
            assert server.stdout is not None
            server.stdout.readline()  # "read API on ...": it is listening
            ids = [f"p{i:07d}" for i in range(args.profiles)]
            asyncio.run(through_api(port, token, ids, 1.0, args.connections))  # warm up
            pids = tree(server.pid)
            cpu, own, load_before = cpu_seconds(pids), time.process_time(), os.getloadavg()[0]
            rate, lat, statuses = asyncio.run(through_api(port, token, ids, args.seconds, args.connections))
            cpu_ms = (cpu_seconds(pids) - cpu) * 1000 / len(lat)
            client_ms = (time.process_time() - own) * 1000 / len(lat)
            server_mb = sum(server_peak_mb(p) for p in pids)
        finally:
            server.terminate()
            server.wait(timeout=30)
        sample = random.Random(3).sample(ids, min(len(ids), 200_000))
        d_rate, d_lat = direct(root, sample, args.seconds / 2, with_consent=False)
        c_rate, c_lat = direct(root, sample, args.seconds / 2, with_consent=True)
        j_rate, j_lat = direct(root, sample, args.seconds / 2, with_consent=True, joined=True)
        print(
            f"API   : {rate:>8,.0f} lookups/s  p50 {pct(lat, 50):.2f} ms  p99 {pct(lat, 99):.2f} ms  "
            f"server CPU {cpu_ms:.3f} ms/lookup, bench client CPU {client_ms:.3f} ms/lookup "
            f"({args.connections} connections, {args.workers} workers; "
            f"statuses {dict(sorted(statuses.items()))}; server peak {server_mb:,.0f} MB; "
            f"load average {load_before:.1f} at the start)"
        )
        for name, r, lt in (
            ("profile row", d_rate, d_lat),
            ("profile row + consent reads, 3 statements", c_rate, c_lat),
            ("profile row + consent reads, the API's one statement", j_rate, j_lat),
        ):
            print(
                f"direct: {r:>8,.0f} lookups/s  p50 {pct(lt, 50):.3f} ms  p99 {pct(lt, 99):.3f} ms  ({name})"
            )
        print(
            f"direct / API: {d_rate / rate:.1f}x (profile row), {c_rate / rate:.1f}x (with consent reads), "
            f"{j_rate / rate:.1f}x (one statement); "
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
            f"bench peak {peak_rss_mb():,.0f} MB"
        )


if __name__ == "__main__":
    main()
