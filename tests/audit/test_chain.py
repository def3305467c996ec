"""The audit chain finds every kind of tampering, on SQLite and PostgreSQL."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from hub.audit import AuditIntegrityError, AuditLog
from hub.audit.chain import entry_hash
from hub.secrets import Keyring
from hub.store import create_db_and_tables, get_engine

KEYRING = Keyring({1: b"a" * 32})


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'hub.db'}"
    return request.getfixturevalue("pg_schema_url")


@pytest.fixture
def audit(store_url: str) -> Iterator[AuditLog]:
    engine = get_engine(store_url)
    create_db_and_tables(engine)
    log = AuditLog(engine, KEYRING)
    for i in range(1, 6):
        log.append("sync.start", target="crm", details={"run": i})
    yield log


def sql(engine: Engine, statement: str) -> None:
    with engine.begin() as conn:
        conn.execute(text(statement))


def test_an_untouched_log_verifies(audit: AuditLog) -> None:
    report = audit.verify()
    assert (report.ok, report.checked) == (True, 5)


@pytest.mark.parametrize(
    ("tamper", "first_bad", "problem"),
    [
        ("UPDATE audit_events SET target = 'shop' WHERE seq = 3", 3, "edited or forged"),
        ("UPDATE audit_events SET details = '{\"run\": 99}' WHERE seq = 2", 2, "edited or forged"),
        ("DELETE FROM audit_events WHERE seq = 4", 4, "missing"),
        # swap the content of two entries (each keeps the other's seq)
        (
            "UPDATE audit_events SET seq = CASE seq WHEN 2 THEN 3 WHEN 3 THEN 2 END WHERE seq IN (2, 3)",
            2,
            "edited or forged",
        ),
    ],
)
def test_tampering_is_found_and_named(audit: AuditLog, tamper: str, first_bad: int, problem: str) -> None:
    if "CASE" in tamper:  # the unique seq needs a detour to swap
        sql(audit.engine, "UPDATE audit_events SET seq = -seq WHERE seq IN (2, 3)")
        tamper = (
            "UPDATE audit_events SET seq = CASE seq WHEN -2 THEN 3 WHEN -3 THEN 2 END WHERE seq IN (-2, -3)"
        )
    sql(audit.engine, tamper)
    report = audit.verify()
    assert not report.ok
    assert report.first_bad == first_bad and problem in report.problem


def test_a_forged_entry_without_the_key_is_found(audit: AuditLog) -> None:
    head = audit.entries(last=1)[0]
    forged = {**head, "seq": 6, "action": "erasure", "details": {}, "prev_hash": head["entry_hash"]}
    forged["entry_hash"] = entry_hash(Keyring({1: b"b" * 32}), forged)  # a guessed key
    with audit.engine.begin() as conn:
        from sqlalchemy import insert

        from hub.audit.models import AuditEvent

        conn.execute(insert(AuditEvent).values(**forged))
    report = audit.verify()
    assert (report.ok, report.first_bad) == (False, 6)


def _append_many(url: str, n: int, head_file: Path) -> None:
    log = AuditLog(get_engine(url), KEYRING, head_file=head_file)
    for i in range(n):
        log.append("stream.end", target="crm/contacts", details={"i": i})


def test_concurrent_writers_never_fork_the_chain(audit: AuditLog, store_url: str, tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    head_file = tmp_path / "audit-head.json"  # shared by both writers, as on one machine
    workers = [ctx.Process(target=_append_many, args=(store_url, 40, head_file)) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
        assert w.exitcode == 0
    anchored = AuditLog(audit.engine, KEYRING, head_file=head_file)
    report = anchored.verify()
    assert report.ok and report.checked == 5 + 80
    assert anchored.anchored().seq == 85  # type: ignore[union-attr]  # the head never fell back
    assert not report.note


# On SQLite a hand-edited row can hold anything; PostgreSQL's typed columns (integer, json,
# timestamptz) refuse such values, so these rows can only be met on SQLite.
@pytest.mark.parametrize(
    ("tamper", "first_bad", "problem"),
    [
        (
            "UPDATE audit_events SET details = 'not json {' WHERE seq = 2",
            2,
            "entry 2 has details 'not json {', which the hub never writes",
        ),
        ("UPDATE audit_events SET at = 'yesterday' WHERE seq = 3", 3, "entry 3 has at 'yesterday'"),
        ("UPDATE audit_events SET key_version = 'v1' WHERE seq = 3", 3, "entry 3 has key_version"),
        ("UPDATE audit_events SET seq = 4.5 WHERE seq = 4", 4, "has seq 4.5"),
    ],
)
def test_rows_the_hub_never_writes_are_reported_as_tampered(
    tmp_path: Path, tamper: str, first_bad: int, problem: str
) -> None:
    engine = get_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    create_db_and_tables(engine)
    log = AuditLog(engine, KEYRING)
    for i in range(1, 6):
        log.append("sync.start", target="crm", details={"run": i})
    sql(engine, tamper)
    report = log.verify()
    assert (report.ok, report.first_bad) == (False, first_bad)
    assert problem in report.problem and "edited or written by hand" in report.problem
    assert len(log.entries()) == 5  # reading them does not crash either


@pytest.mark.parametrize("seq", ["'six'", "5.5"])
def test_an_append_onto_an_unreadable_newest_row_refuses(tmp_path: Path, seq: str) -> None:
    engine = get_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    create_db_and_tables(engine)
    log = AuditLog(engine, KEYRING)
    for _ in range(5):
        log.append("sync.start")
    sql(engine, f"UPDATE audit_events SET seq = {seq} WHERE seq = 5")
    with pytest.raises(AuditIntegrityError, match=r"newest row \(id 5\) has seq .*restore"):
        log.append("sync.start")
    assert len(log.entries()) == 5
