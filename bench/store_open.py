"""How long opening the hub store takes, now that it checks the schema revision (issue 17).

Every command and flow run opens the store once (HubContext.engine); the test suite creates
hundreds of new ones. Measures, on SQLite and on PostgreSQL (a fresh schema each time):
  new store   create_db_and_tables on an empty database: every table made, stamped at head
  reopen      create_db_and_tables on a store at head: the revision read and compared
  revisions   the same new store built by running every revision instead (what a create at
              head avoids)
  create_all  plain SQLModel.metadata.create_all on an empty database (what opening a new store
              did before revisions)
  create_all again  the same on a store that has its tables (what reopening did before)

    PYTHONPATH=. .venv/bin/python bench/store_open.py [--rounds 10] [--pg postgresql://...]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from hub.store import create_db_and_tables, get_engine
from hub.store.schema import import_store_tables, upgrade_store


@contextmanager
def sqlite_store() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as folder:
        yield f"sqlite:///{Path(folder) / 'hub.db'}"


def pg_store(base: str) -> Callable[[], object]:
    @contextmanager
    def make() -> Iterator[str]:
        name = f"bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{name}"')
        try:
            yield f"{base}?options=-csearch_path%3D{name}"
        finally:
            with psycopg.connect(base, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{name}" CASCADE')

    return make


def timed(
    make: Callable[[], object], action: Callable[[Engine], object], *, prepare: bool, rounds: int
) -> float:
    """Median seconds of `action` on a store from `make` (made at head first when `prepare`)."""
    samples = []
    for _ in range(rounds):
        with make() as url:  # type: ignore[attr-defined]
            engine = get_engine(url)
            if prepare:
                create_db_and_tables(engine)
            start = time.perf_counter()
            action(engine)
            samples.append(time.perf_counter() - start)
            engine.dispose()
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    import_store_tables()
    backends: list[tuple[str, Callable[[], object]]] = [
        ("sqlite", sqlite_store),
        ("postgresql", pg_store(args.pg)),
    ]
    cases: list[tuple[str, Callable[[Engine], object], bool]] = [
        ("new store", create_db_and_tables, False),
        ("reopen", create_db_and_tables, True),
        ("revisions", upgrade_store_by_revisions, False),
        ("create_all", SQLModel.metadata.create_all, False),
        ("create_all again", SQLModel.metadata.create_all, True),
    ]
    for backend, make in backends:
        for label, action, prepare in cases:
            seconds = timed(make, action, prepare=prepare, rounds=args.rounds)
            print(f"{backend:10s} {label:16s} {seconds * 1000:8.1f} ms (median of {args.rounds})")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MB")


def upgrade_store_by_revisions(engine: Engine) -> None:
    upgrade_store(engine, "0001")  # from empty: runs the revisions, not create_all
    upgrade_store(engine)


if __name__ == "__main__":
    main()
