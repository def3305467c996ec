"""Identity reconciliation on a real stitch: records that left the warehouse, the profiles
that no longer stand on anything, and the timeline events whose person vanished."""

from __future__ import annotations

import sqlite3
import textwrap
from pathlib import Path

import pytest

from hub.context import HubContext
from hub.destinations import open_destination
from hub.destinations.checksum import DELETED_COLUMN
from hub.errors import FatalError
from hub.identity.run import stitch_workspace
from hub.reconcile.identity import reconcile_identity
from tests.identity.test_timeline import MANIFEST, WORKSPACE, at, mapping, write_table


@pytest.fixture
def stitched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> HubContext:
    """Ada (two records: support and a second user row) and Bob; tickets on both timelines."""
    monkeypatch.delenv("CROSSDOCK_STORE_URL", raising=False)
    (tmp_path / "fake.yaml").write_text(MANIFEST)
    (tmp_path / "mappings" / "fake").mkdir(parents=True)
    for stream, entity, fields in (
        ("users", "contact", ["source_id", "email", "first_name", "last_name", "updated_at"]),
        ("tickets", "ticket", ["source_id", "contact_id", "email", "subject", "created_at", "updated_at"]),
        ("orders", "order", ["source_id", "email", "total", "created_at", "updated_at"]),
    ):
        (tmp_path / "mappings" / "fake" / f"{stream}.yaml").write_text(mapping(stream, entity, fields))
    (tmp_path / "crossdock.yaml").write_text(textwrap.dedent(WORKSPACE))
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    people = [
        ("u1", "ada@example.org", "Ada"),
        ("u2", "ada@example.org", "Ada"),
        ("u3", "bob@example.org", "Bob"),
    ]
    write_table(
        url,
        "support_users",
        "contact",
        [
            {"source": "fake", "source_id": sid, "email": email, "first_name": first, "updated_at": at(1)}
            for sid, email, first in people
        ],
    )
    write_table(
        url,
        "support_tickets",
        "ticket",
        [
            {
                "source": "fake",
                "source_id": "t1",
                "contact_id": "u1",
                "created_at": at(2),
                "updated_at": at(2),
            },
            {
                "source": "fake",
                "source_id": "t2",
                "contact_id": "u3",
                "created_at": at(3),
                "updated_at": at(3),
            },
        ],
    )
    write_table(url, "support_orders", "order", [])
    ctx = HubContext(tmp_path)
    assert stitch_workspace(ctx).profiles == 2
    return ctx


def _delete(ctx: HubContext, table: str, where: str) -> None:
    with sqlite3.connect(ctx.workspace_dir / "warehouse.db") as db:
        db.execute(f"DELETE FROM {table} WHERE {where}")


def _profile_of(ctx: HubContext, record_key: str) -> str:
    dest = open_destination("sql", {"url": f"sqlite:///{ctx.workspace_dir / 'warehouse.db'}"})
    try:
        [row] = dest.read_rows("profile_records", {"record_key": record_key})
    finally:
        dest.close()
    return str(row["profile_id"])


def test_a_fresh_stitch_is_clean(stitched: HubContext) -> None:
    report = reconcile_identity(stitched)
    assert report.clean and (report.profiles, report.records) == (2, 3)
    assert report.events >= 5 and report.unchecked_tables == ()


def test_vanished_records_orphan_their_profile_and_its_events(stitched: HubContext) -> None:
    bob = _profile_of(stitched, "fake:u3")
    _delete(stitched, "support_users", "source_id IN ('u2', 'u3')")  # one of Ada's two, and Bob

    report = reconcile_identity(stitched)

    assert report.vanished_records == ("fake:u2", "fake:u3")
    assert report.orphan_profiles == (bob,), "Ada still stands on u1"
    assert report.orphan_events == ("fake:ticket:t2", "fake:u3")
    assert report.to_dict()["differences"] == 5


def test_events_of_a_profile_that_is_gone_are_orphans(stitched: HubContext) -> None:
    ada = _profile_of(stitched, "fake:u1")
    _delete(stitched, "profiles", f"profile_id = '{ada}'")  # e.g. an erasure that missed the timeline

    report = reconcile_identity(stitched)

    assert report.vanished_records == () and report.orphan_profiles == ()
    assert report.orphan_events == ("fake:ticket:t1", "fake:u1", "fake:u2")


def test_a_workspace_never_stitched_is_told_to_stitch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CROSSDOCK_STORE_URL", raising=False)
    (tmp_path / "crossdock.yaml").write_text(
        "version: 1\nconnections:\n  crm:\n    source: {connector: hubspot}\n"
        "    destination: {type: sql, config: {url: 'sqlite:///wh.db'}}\n"
        "    streams:\n      contacts: {mapping: hubspot/contacts}\n"
    )
    with pytest.raises(FatalError, match="run `crossdock stitch` first"):
        reconcile_identity(HubContext(tmp_path))


def test_a_row_flagged_deleted_in_the_warehouse_has_vanished(stitched: HubContext) -> None:
    with sqlite3.connect(stitched.workspace_dir / "warehouse.db") as db:
        db.execute(
            f"UPDATE support_users SET {DELETED_COLUMN} = '2026-11-30 00:00:00' WHERE source_id = 'u1'"
        )
    report = reconcile_identity(stitched)
    assert report.vanished_records == ("fake:u1",) and report.orphan_profiles == ()


def test_the_reconcile_command_checks_the_profiles(stitched: HubContext) -> None:
    import json

    from typer.testing import CliRunner

    from hub.cli import app

    def reconcile(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(app, ["--workspace", str(stitched.workspace_dir), "reconcile", *args])
        return result.exit_code, result.stdout + result.stderr

    code, out = reconcile("--identity", "--json")
    assert code == 0 and json.loads(out)["status"] == "clean", out
    with sqlite3.connect(stitched.workspace_dir / "warehouse.db") as db:
        db.execute("DELETE FROM support_users WHERE source_id = 'u3'")  # Bob's only record
    code, out = reconcile("--identity", "--json")
    report = json.loads(out)
    assert code == 3 and report["vanished_records_sample"] == ["fake:u3"], out
    assert report["orphan_profiles"] == 1
    code, out = reconcile()
    assert code == 2 and "--identity" in out, out
