"""Reconcile end to end against the sandbox's real HTTP API, on SQLite and PostgreSQL: each
planted fault (a record the list skipped, a hard delete, an edit with an old updatedAt) is
found exactly, `--repair` re-reads exactly the keys at fault and ends with zero differences,
and changes after the sync are not false alarms. The default check reads HubSpot's keys only
(`properties=hs_object_id`); `--content` reads it whole and compares checksums."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from hub.cli import app
from hub.context import HubContext
from hub.destinations import open_destination
from hub.destinations.checksum import DELETED_COLUMN
from hub.pipeline import begin_run, end_run, plan_stream, sync_stream
from hub.reconcile import history, reconcile_connection
from hub.sandbox import Sandbox

CONTACTS = "/crm/v3/objects/contacts"

WORKSPACE = """\
version: 1
connections:
  crm:
    source:
      connector: hubspot
      config:
        base_url: {url}
        access_token: sandbox-token
        start_date: "2020-01-01T00:00:00Z"
        backoff_factor: 0.1
    destination:
      type: sql
      config: {destination}
    deletes: {deletes}
    streams:
      contacts:
        mapping: hubspot/contacts
"""


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(seed=11, scale=120, port=0) as sb:
        yield sb


def workspace(tmp: Path, sb: Sandbox, destination: dict[str, str], deletes: str = "soft") -> HubContext:
    config = "{" + ", ".join(f"{k}: '{v}'" for k, v in destination.items()) + "}"
    (tmp / "crossdock.yaml").write_text(
        textwrap.dedent(WORKSPACE).format(url=sb.url, destination=config, deletes=deletes)
    )
    return HubContext(tmp)


def sqlite(tmp: Path) -> dict[str, str]:
    return {"url": f"sqlite:///{tmp / 'warehouse.db'}"}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def destination(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    if request.param == "sqlite":
        return sqlite(tmp_path)
    return {
        "url": "postgresql://postgres@127.0.0.1:5432/test",
        "schema": request.getfixturevalue("pg_schema"),
    }


def sync(ctx: HubContext) -> None:
    """One sync of the stream through the pipeline (the flow adds nothing to what is compared)."""
    conn = ctx.workspace().connection("crm")
    run_id = begin_run(ctx, "crm", False)
    info = sync_stream(plan_stream(ctx, conn, "contacts", run_id, False))
    end_run(ctx, run_id, "crm", False, [info], info.seconds, "warehouse")
    assert info.status == "succeeded", info.error


def rows(destination: dict[str, str]) -> dict[str, dict[str, Any]]:
    dest = open_destination("sql", destination)
    try:
        return {r["source_id"]: r for r in dest.read_rows("crm_contacts")}
    finally:
        dest.close()


def cli(ctx: HubContext, *args: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(
        app, ["--workspace", str(ctx.workspace_dir), "reconcile", "crm", *args, "--json"]
    )
    return result.exit_code, json.loads(result.stdout)


def status(ctx: HubContext) -> tuple[int, dict[str, Any]]:
    """`crossdock status -c crm --json`: the connection's row, with its last reconcile."""
    result = CliRunner().invoke(app, ["--workspace", str(ctx.workspace_dir), "status", "-c", "crm", "--json"])
    return result.exit_code, json.loads(result.stdout)["connections"][0]


def three_ids(sb: Sandbox) -> tuple[str, str, str]:
    ids = sorted(sb.hubspot.objects("contacts"), key=int)
    return ids[3], ids[40], ids[77]


def test_each_fault_is_found_exactly_and_repair_ends_clean(
    sandbox: Sandbox, destination: dict[str, str], tmp_path: Path
) -> None:
    # `deletes:` soft on SQLite, hard on PostgreSQL: both ways of repairing an extra row
    hard = destination["url"].startswith("postgresql")
    ctx = workspace(tmp_path, sandbox, destination, deletes="hard" if hard else "soft")
    skipped, deleted, edited = three_ids(sandbox)
    with sandbox.faults.planted(CONTACTS, "skip", record=skipped, times=1):  # one page skipped it
        sync(ctx)
    assert skipped not in rows(destination)

    with (
        sandbox.faults.planted(CONTACTS, "deleted", record=deleted, times=None),
        sandbox.faults.planted(
            CONTACTS, "stale", record=edited, times=None, changes={"properties": {"city": "Atlantis"}}
        ),
    ):
        reads = len(sandbox.hubspot.list_reads)
        code, report = cli(ctx, "--content")  # an edit with an old updatedAt: only checksums see it
        assert code == 3, report  # differences: the exit code of a partial sync
        assert {p for _, p in sandbox.hubspot.list_reads[reads:]} != {"hs_object_id"}  # read whole
        (contacts,) = report["streams"]
        assert contacts["read"] == "full"
        # the contact key is (source, source_id)
        expected = {"missing": [skipped], "extra": [deleted], "stale": [edited]}
        assert contacts["samples"] == {k: [f"hubspot|{v[0]}"] for k, v in expected.items()}
        assert (contacts["missing"], contacts["extra"], contacts["stale"]) == (1, 1, 1)
        assert contacts["source"] == contacts["warehouse"] == len(sandbox.hubspot.objects("contacts")) - 1
        code, seen = status(ctx)
        assert code == 5 and seen["reconciled"]["differences"] == 3, seen  # status wants a person

        fetched = len(sandbox.hubspot.batch_reads)
        code, repaired = cli(ctx, "--repair", "--content")
        assert code == 0, repaired
        assert batch_read_ids(sandbox, fetched) == sorted([skipped, edited])  # by key, exactly those
        assert repaired["before"][0]["differences"] == 3
        assert repaired["repaired"]["contacts"] == {
            "rewritten": 2,
            "flagged_deleted": 0 if hard else 1,
            "deleted": 1 if hard else 0,
        }
        assert repaired["streams"][0]["differences"] == 0 and repaired["status"] == "clean"
        code, seen = status(ctx)
        assert code == 0 and seen["reconciled"]["status"] == "clean", seen
        after = rows(destination)
        assert after[skipped][DELETED_COLUMN] is None
        assert after[edited]["city"] == "Atlantis"
        if hard:
            assert deleted not in after
        else:
            assert after[deleted][DELETED_COLUMN] is not None  # deletes: soft keeps the row, flagged

    phases = [r.phase for r in history(ctx.engine, "crm")]
    assert phases.count("before-repair") == 1 and phases.count("after-repair") == 1
    (repair,) = ctx.audit.entries(action="reconcile.repair")
    details = repair["details"]
    assert details["rewritten"] == 2 and len(details["key_hashes"]["rewritten"]) == 2
    # counts and keyed hashes of the keys, never values or the keys themselves
    assert "Atlantis" not in json.dumps(details) and skipped not in details["key_hashes"]["rewritten"]


def batch_read_ids(sb: Sandbox, since: int) -> list[str]:
    """The contact ids HubSpot batch reads asked for since the log's `since`-th entry."""
    return sorted(i for kind, ids in sb.hubspot.batch_reads[since:] if kind == "contacts" for i in ids)


def test_the_keys_read_finds_missing_extra_and_skipped_edits_and_repair_rereads_exactly_those(
    sandbox: Sandbox, destination: dict[str, str], tmp_path: Path
) -> None:
    ctx = workspace(tmp_path, sandbox, destination)
    ids = sorted(sandbox.hubspot.objects("contacts"), key=int)
    skipped, deleted, edited = ids[5], ids[50], ids[90]
    with sandbox.faults.planted(CONTACTS, "skip", record=skipped, times=1):
        sync(ctx)
    # An edit the sync's cursor skipped: stamped before the sync started, after the row's own
    # updatedAt; so neither pending nor equal.
    sandbox.hubspot.update(
        "contacts", edited, {"city": "Tromsø"}, updated_at=datetime.now(UTC) - timedelta(hours=1)
    )
    reads = len(sandbox.hubspot.list_reads)
    with sandbox.faults.planted(CONTACTS, "deleted", record=deleted, times=None):
        code, report = cli(ctx)
        keys_pages = sandbox.hubspot.list_reads[reads:]
        assert code == 3, report
        # every page of the check asked HubSpot for the key only
        assert keys_pages and set(keys_pages) == {("contacts", "hs_object_id")}, keys_pages
        (contacts,) = report["streams"]
        assert contacts["read"] == "keys"
        expected = {"missing": skipped, "extra": deleted, "stale": edited}
        assert contacts["samples"] == {k: [f"hubspot|{v}"] for k, v in expected.items()}
        assert (contacts["missing"], contacts["extra"], contacts["stale"]) == (1, 1, 1)
        assert contacts["equal"] == contacts["source"] - 2

        fetched = len(sandbox.hubspot.batch_reads)
        code, repaired = cli(ctx, "--repair")
        assert code == 0, repaired
        assert batch_read_ids(sandbox, fetched) == sorted([skipped, edited])
        assert repaired["repaired"]["contacts"]["rewritten"] == 2
        assert repaired["streams"][0]["differences"] == 0 and repaired["status"] == "clean"
    after = rows(destination)
    assert after[edited]["city"] == "Tromsø" and after[skipped][DELETED_COLUMN] is None
    (repair,) = ctx.audit.entries(action="reconcile.repair")
    assert repair["details"]["reread"] == "by key"


def test_changes_after_the_sync_are_not_false_alarms(sandbox: Sandbox, tmp_path: Path) -> None:
    # which rows are pending is decided on the source side; the engines' part is in test_compare.py
    destination = sqlite(tmp_path)
    ctx = workspace(tmp_path, sandbox, destination)
    sync(ctx)
    changed = sorted(sandbox.hubspot.objects("contacts"), key=int)[10]
    sandbox.hubspot.update("contacts", changed, {"city": "Bergen"})
    created = sandbox.hubspot.create("contacts", {"email": "late@example.org", "firstname": "Late"})
    report = reconcile_connection(ctx, "crm")
    (contacts,) = report.streams
    assert (contacts.status, contacts.differences, contacts.pending) == ("clean", 0, 2), contacts
    assert created["id"] not in rows(destination)  # pending: it exists at the source only


def test_an_unknown_stream_or_a_table_never_synced_is_refused(tmp_path: Path, sandbox: Sandbox) -> None:
    ctx = workspace(tmp_path, sandbox, sqlite(tmp_path))
    result = CliRunner().invoke(app, ["--workspace", str(tmp_path), "reconcile", "crm", "--stream", "nope"])
    assert result.exit_code == 2 and "no stream `nope`" in result.stderr
    code, report = cli(ctx)  # never synced: the check fails, saying why
    assert code == 1 and "sync `crm` first" in report["streams"][0]["error"]
