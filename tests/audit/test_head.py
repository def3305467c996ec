"""The head anchored outside the store: deleting or cutting off the newest entries is found,
appends refuse until the loss is acknowledged, and the head never moves backwards."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from hub.audit import AuditIntegrityError, AuditLog, HeadFile
from hub.secrets import Keyring, load_keyring, save_keyring
from hub.store import create_db_and_tables, get_engine

KEYRING = Keyring({1: b"a" * 32})


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Engine:
    url = (
        f"sqlite:///{tmp_path / 'hub.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("pg_schema_url")
    )
    engine = get_engine(url)
    create_db_and_tables(engine)
    return engine


@pytest.fixture
def audit(engine: Engine, tmp_path: Path) -> AuditLog:
    log = AuditLog(engine, KEYRING, head_file=tmp_path / "state" / "audit-head.json")
    for i in range(1, 6):
        log.append("sync.start", target="crm", details={"run": i})
    return log


def sql(engine: Engine, statement: str) -> None:
    with engine.begin() as conn:
        conn.execute(text(statement))


def test_every_append_anchors_the_head(audit: AuditLog) -> None:
    anchored = audit.anchored()
    assert anchored is not None and anchored.seq == 5
    assert anchored.entry_hash == audit.entries(last=1)[0]["entry_hash"]
    report = audit.verify()
    assert (report.ok, report.checked, report.last[0] if report.last else None) == (True, 5, 5)


@pytest.mark.parametrize(
    ("delete", "first_bad", "problem"),
    [
        ("DELETE FROM audit_events", 1, "the log is empty, but"),
        ("DELETE FROM audit_events WHERE seq >= 4", 4, "entries 4 to 5 were cut off the end"),
    ],
)
def test_deleting_the_newest_entries_is_found_and_appends_refuse(
    audit: AuditLog, delete: str, first_bad: int, problem: str
) -> None:
    sql(audit.engine, delete)
    report = audit.verify()
    assert not report.ok
    assert report.first_bad == first_bad and problem in report.problem
    with pytest.raises(AuditIntegrityError, match="refusing to write.*acknowledge --reason"):
        audit.append("sync.start", target="crm")
    assert len(audit.entries()) == first_bad - 1  # nothing was appended


def test_acknowledge_records_the_loss_and_appends_resume(audit: AuditLog) -> None:
    assert audit.acknowledge("nothing wrong") is None  # nothing to acknowledge
    sql(audit.engine, "DELETE FROM audit_events WHERE seq >= 4")
    entry = audit.acknowledge("restored hub.db from the 02:00 backup", actor="ops")
    assert entry is not None and (entry["seq"], entry["action"], entry["actor"]) == (
        4,
        "audit.acknowledge",
        "ops",
    )
    assert entry["details"]["reason"] == "restored hub.db from the 02:00 backup"
    assert entry["details"]["anchored"]["seq"] == 5 and entry["details"]["found"]["seq"] == 3
    assert "cut off the end" in entry["details"]["problem"]
    assert audit.anchored().seq == 4  # type: ignore[union-attr]  # moved back, on purpose
    assert audit.verify().ok
    assert audit.append("sync.start", target="crm")["seq"] == 5
    assert audit.verify().checked == 5


def test_a_restored_backup_that_diverged_is_found(audit: AuditLog, tmp_path: Path) -> None:
    # The store goes back to entry 3, then a writer without this machine's head (another
    # machine) appends two new entries 4 and 5: same length, different chain.
    sql(audit.engine, "DELETE FROM audit_events WHERE seq >= 4")
    elsewhere = AuditLog(audit.engine, KEYRING, head_file=tmp_path / "other" / "audit-head.json")
    elsewhere.append("sync.start", target="shop")
    elsewhere.append("sync.start", target="shop")
    report = audit.verify()
    assert not report.ok and report.first_bad == 5
    assert "entry 5 is not the one" in report.problem and "rewritten" in report.problem
    with pytest.raises(AuditIntegrityError, match="entry 5 is not the one"):
        audit.append("sync.end", target="crm")


def test_a_head_file_edited_by_hand_is_refused(audit: AuditLog) -> None:
    assert audit.head_file is not None
    path = audit.head_file.path
    data = json.loads(path.read_text())
    data["heads"][audit.store]["seq"] = 3  # make room to cut off entries 4 and 5
    path.write_text(json.dumps(data))
    report = audit.verify()
    assert not report.ok and "does not verify with this workspace's key" in report.problem
    with pytest.raises(AuditIntegrityError, match="does not verify"):
        audit.append("sync.end", target="crm")
    entry = audit.acknowledge("head file restored from an older copy")
    assert entry is not None and entry["seq"] == 6 and audit.verify().ok


def test_the_head_never_moves_backwards(tmp_path: Path) -> None:
    head = HeadFile(tmp_path / "audit-head.json")
    head.advance(KEYRING, "store", 11, "h11")
    head.advance(KEYRING, "store", 10, "h10")  # a writer that committed first but wrote last
    assert head.read(KEYRING, "store").seq == 11  # type: ignore[union-attr]
    head.reset(KEYRING, "store", 4, "h4")  # an acknowledged loss may go back
    assert head.read(KEYRING, "store").seq == 4  # type: ignore[union-attr]
    head.advance(KEYRING, "other store", 2, "x")  # one file, one head per store
    assert head.read(KEYRING, "store").seq == 4  # type: ignore[union-attr]
    assert oct(head.path.stat().st_mode & 0o777) == "0o600"


def test_a_log_without_a_head_yet_is_anchored_only_if_it_verifies(engine: Engine, tmp_path: Path) -> None:
    # The first append after an upgrade, or on a new machine: no head here for this store.
    plain = AuditLog(engine, KEYRING)
    for _ in range(3):
        plain.append("sync.start")
    anchored = AuditLog(engine, KEYRING, head_file=tmp_path / "audit-head.json")
    report = anchored.verify()
    assert report.ok and "holds no head for this store" in report.note
    sql(engine, "UPDATE audit_events SET target = 'shop' WHERE seq = 2")
    with pytest.raises(AuditIntegrityError, match="entry 2 was edited.*holds no head"):
        anchored.append("sync.start")
    sql(engine, "UPDATE audit_events SET target = NULL WHERE seq = 2")
    assert anchored.append("sync.start")["seq"] == 4
    assert anchored.anchored().seq == 4  # type: ignore[union-attr]


def test_each_machine_anchors_what_it_wrote(audit: AuditLog, tmp_path: Path) -> None:
    # Machine B shares the store (PostgreSQL) but keeps its own head file.
    b = AuditLog(audit.engine, KEYRING, head_file=tmp_path / "machine-b" / "audit-head.json")
    b.append("sync.start", target="shop")  # checks 1..5 (no head on B yet), anchors 6
    b.append("sync.end", target="shop")  # anchors 7
    audit.append("sync.start", target="crm")  # A checks 6..7 since its anchor (5), anchors 8
    assert (audit.anchored().seq, b.anchored().seq) == (8, 7)  # type: ignore[union-attr]
    sql(audit.engine, "DELETE FROM audit_events WHERE seq = 8")
    assert not audit.verify().ok
    # B's own anchor (7) is still there: B cannot see the cut; A's head, passed on, shows it.
    assert b.verify().ok
    report = b.verify([audit.anchored()])  # type: ignore[list-item]
    assert not report.ok and "entry 8 was cut off" in report.problem


def test_writers_without_a_head_keep_working(engine: Engine) -> None:
    # Library use without a head file (tests, tools) behaves as before the anchor existed.
    plain = AuditLog(engine, KEYRING)
    assert plain.append("sync.start")["seq"] == 1 and plain.verify().ok


def test_a_writer_holding_the_old_key_follows_a_rotation(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A long-running worker loaded the keyring before `secrets rotate-key` ran elsewhere; the
    # head and the newer entries are signed with a version it does not have yet.
    monkeypatch.delenv("CROSSDOCK_MASTER_KEY", raising=False)
    state = tmp_path / "state"
    save_keyring(state, KEYRING)
    head_file = state / "audit-head.json"
    worker = AuditLog(engine, load_keyring(state), head_file=head_file, reload=lambda: load_keyring(state))
    worker.append("sync.start")
    rotated = KEYRING.rotated()
    save_keyring(state, rotated)
    AuditLog(engine, rotated, head_file=head_file).append("secret.rotate_key")
    assert worker.append("sync.end")["key_version"] == 2
    assert AuditLog(engine, rotated, head_file=head_file).verify().ok
