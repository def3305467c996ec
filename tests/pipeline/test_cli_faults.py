"""Bad input and a full disk are one line naming the file or URL and what to do, never a
traceback, with the documented exit code (2 bad config or input, 1 failed)."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from sqlalchemy import event
from typer.testing import CliRunner

from hub.cli import app

runner = CliRunner()


def invoke(hub: Any, *args: str) -> Any:
    return runner.invoke(app, ["--workspace", str(hub.ctx.workspace_dir), *args])


def one_line(result: Any) -> str:
    text = result.output.strip()
    assert "Traceback" not in text and result.exception is None or isinstance(result.exception, SystemExit), (
        text
    )
    assert len(text.splitlines()) == 1, text
    return text


@pytest.mark.parametrize("hub", ["sqlite"], indirect=True)
@pytest.mark.parametrize("command", ["runs", "sync crm", "secrets list"])
def test_a_corrupt_store_file_is_one_line_exit_2(hub: Any, command: str) -> None:
    store = hub.ctx.workspace_dir / ".crossdock" / "hub.db"
    store.parent.mkdir(exist_ok=True)
    store.write_bytes(b"this is not a database, it was overwritten by something else " * 20)
    result = invoke(hub, *command.split())
    assert result.exit_code == 2, result.output
    line = one_line(result)
    assert "hub.db" in line and "not a readable SQLite database" in line and "move it aside" in line


@pytest.mark.postgres
@pytest.mark.parametrize("hub", ["sqlite"], indirect=True)
def test_a_store_url_naming_a_missing_postgres_database_is_one_line_exit_2(
    hub: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CROSSDOCK_STORE_URL", "postgresql://postgres@127.0.0.1:5432/crossdock_no_such_db")
    result = invoke(hub, "runs")
    assert result.exit_code == 2, result.output
    line = one_line(result)
    assert "`crossdock_no_such_db` does not exist" in line and "createdb" in line


@pytest.mark.parametrize("hub", ["sqlite"], indirect=True)
def test_check_against_an_api_where_nothing_listens_is_one_line_at_once(hub: Any) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    path = hub.ctx.workspace_file
    path.write_text(path.read_text().replace(hub.sandbox.url, f"http://127.0.0.1:{port}"))
    result = invoke(hub, "check", "crm")
    assert result.exit_code == 1, result.output
    line = one_line(result)
    assert f"nothing listens on 127.0.0.1:{port}" in line and "crossdock sandbox" in line


@pytest.mark.parametrize("hub", ["sqlite"], indirect=True)
def test_sync_against_an_api_where_nothing_listens_fails_in_seconds_and_is_recorded(hub: Any) -> None:
    from hub.store import runs

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    path = hub.ctx.workspace_file
    text = path.read_text().replace(hub.sandbox.url, f"http://127.0.0.1:{port}")
    path.write_text(text.replace("  support:\n", "    unreachable_retry_seconds: 1\n  support:\n", 1))
    assert hub.ctx.workspace().connection("crm").unreachable_retry_seconds == 1
    assert hub.ctx.workspace().connection("email").unreachable_retry_seconds == 10  # the default
    hub.ctx.keyring  # noqa: B018 - the key's one-time creation notice is not the command's output
    result = invoke(hub, "sync", "crm")
    assert result.exit_code == 1, result.output
    line = one_line(result)
    assert f"nothing listens on 127.0.0.1:{port}" in line and "crossdock sandbox" in line
    assert "unreachable_retry_seconds" in line
    (run,) = runs.list_runs(hub.ctx.engine)
    assert run.status == "failed" and f"nothing listens on 127.0.0.1:{port}" in (run.error or "")
    ended = hub.ctx.audit.entries(action="sync.end")
    assert ended[-1]["details"]["status"] == "failed" and ended[-1]["details"]["run_id"] == run.id


def _full_after_this(dbapi_conn: Any, _record: Any) -> None:
    """SQLite's own limit on the file's pages: past it, a write fails with SQLITE_FULL,
    'database or disk is full', the way a full disk does."""
    pages = dbapi_conn.execute("PRAGMA page_count").fetchone()[0]
    dbapi_conn.execute(f"PRAGMA max_page_count = {pages}")


@pytest.mark.usefixtures("prefect_server")
@pytest.mark.parametrize("hub", ["sqlite"], indirect=True)
def test_a_full_disk_under_the_store_is_one_line(hub: Any) -> None:
    from flows.sync import sync_connection

    assert sync_connection("crm", workspace_dir=str(hub.ctx.workspace_dir)).status == "succeeded"
    engine = hub.ctx.engine
    event.listen(engine, "connect", _full_after_this)
    engine.dispose()  # new connections take the limit
    # A record its mapping refuses, with a big field: its dead letter needs pages the store
    # cannot have.
    bad = hub.sandbox.hubspot.create("contacts", {"city": "x" * 200_000})
    hub.sandbox.hubspot.objects("contacts")[bad["id"]]["updatedAt"] = "not a date"
    try:
        result = invoke(hub, "sync", "crm", "--full-refresh")
    finally:
        event.remove(engine, "connect", _full_after_this)
        engine.dispose()
    # The store refuses the run's first write (its lease row, its dead letters, ...): the
    # command ends with the real cause in one line, never a traceback. Where the refused
    # write is a stream's, the run summary is printed and the run is partial (exit 3); where
    # it is the run's own bookkeeping, nothing started (exit 1).
    assert result.exit_code in (1, 3), result.output
    assert "Traceback" not in result.output and "cannot rollback" not in result.output
    causes = [line for line in result.output.splitlines() if "no disk space left" in line]
    assert len(causes) == 1, result.output
    assert "the hub store " in causes[0]
    assert "hub.db has no disk space left (database or disk is full)" in causes[0]
    assert "free space on that disk" in causes[0]


@pytest.mark.usefixtures("prefect_server")
@pytest.mark.parametrize("hub", ["sqlite"], indirect=True)
def test_a_full_disk_under_the_warehouse_is_one_line_and_nothing_moves(
    hub: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlmodel import Session, select

    from flows.sync import sync_connection
    from hub.destinations.sql_sqlite import SqliteDestination
    from hub.store import StreamState

    assert sync_connection("crm", workspace_dir=str(hub.ctx.workspace_dir)).status == "succeeded"
    before = {r["source_id"]: r["city"] for r in hub.rows("crm_contacts")}
    with Session(hub.ctx.engine) as session:
        states = {s.stream: s.state for s in session.exec(select(StreamState)).all()}
    changed = sorted(hub.sandbox.hubspot.objects("contacts"), key=int)[:20]
    for cid in changed:
        hub.sandbox.hubspot.update("contacts", cid, {"city": "y" * 20_000})

    opened = SqliteDestination.__init__

    def full_disk(self: SqliteDestination, url: str) -> None:
        opened(self, url)
        _full_after_this(self._conn, None)

    monkeypatch.setattr(SqliteDestination, "__init__", full_disk)
    result = invoke(hub, "sync", "crm")
    assert result.exit_code in (1, 3), result.output
    assert "Traceback" not in result.output and "cannot rollback" not in result.output
    causes = [line for line in result.output.splitlines() if "no disk space left" in line]
    assert len(causes) == 1, result.output
    assert causes[0].startswith("stream contacts failed: the sqlite warehouse ")
    assert "warehouse.db has no disk space left (database or disk is full)" in causes[0]

    monkeypatch.undo()
    assert {r["source_id"]: r["city"] for r in hub.rows("crm_contacts")} == before
    with Session(hub.ctx.engine) as session:
        after = {s.stream: s.state for s in session.exec(select(StreamState)).all()}
    # The stream that met the full disk keeps its checkpoint; companies, which fit, moved on.
    assert after["contacts"] == states["contacts"]


def test_a_write_back_dry_run_does_not_wait_for_its_api(tmp_path: Any) -> None:
    from hub.context import HubContext
    from hub.pipeline.reach import api_urls

    (tmp_path / "crossdock.yaml").write_text(
        "version: 1\nconnections:\n  out:\n    source: {warehouse: 'sqlite:///w.db'}\n"
        "    destination:\n      type: hubspot\n      config: {base_url: 'http://127.0.0.1:9', "
        "access_token: t, object: contacts}\n"
        "    streams: {profiles: {mapping: warehouse/profiles, sync_mode: full_refresh}}\n"
    )
    ctx = HubContext(tmp_path)
    conn = ctx.workspace().connection("out")
    assert api_urls(ctx, conn) == ["http://127.0.0.1:9"]
    assert api_urls(ctx, conn, dry_run=True) == []  # a dry run calls no API


@pytest.mark.parametrize("hub", ["sqlite"], indirect=True)
def test_https_to_a_plain_http_server_is_a_tls_failure_named_at_once(hub: Any) -> None:
    from hub.pipeline.reach import unreachable

    url = hub.sandbox.url.replace("http://", "https://")
    why = unreachable(url)
    assert why is not None and "TLS handshake" in why and "scheme of `base_url`" in why


def test_a_host_that_does_not_resolve_is_named() -> None:
    from hub.pipeline.reach import unreachable

    why = unreachable("https://no-such-host.invalid/api")
    assert why is not None and "`no-such-host.invalid`" in why and "does not resolve" in why


@pytest.mark.postgres
def test_a_postgres_store_out_of_disk_is_one_line(pg_schema_url: str) -> None:
    """PostgreSQL's DiskFull (53100) as a store write meets it: raised at write time by a
    trigger, through the same engine hook as a real one."""
    import psycopg
    from sqlalchemy import text

    from hub.store.engine import StoreDiskFullError, get_engine

    engine = get_engine(pg_schema_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x int)"))
        conn.execute(
            text(
                "CREATE FUNCTION full_disk() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION "
                "'could not extend file: No space left on device' USING ERRCODE = 'disk_full'; "
                "END $$ LANGUAGE plpgsql"
            )
        )
        conn.execute(text("CREATE TRIGGER fill BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION full_disk()"))
    with pytest.raises(StoreDiskFullError) as err, engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
    assert isinstance(err.value.__context__, psycopg.errors.DiskFull)
    assert "\n" not in str(err.value) and "127.0.0.1:5432/test" in str(err.value)
    assert "no disk space left (could not extend file: No space left on device)" in str(err.value)


@pytest.mark.parametrize("hub", ["sqlite"], indirect=True)
def test_a_prefect_server_that_does_not_start_is_a_recorded_failed_run(
    hub: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hub.cli import prefect_server
    from hub.store import runs

    def late() -> None:
        raise RuntimeError(f"{prefect_server.TIMED_OUT} It did not answer within 180 s.")

    monkeypatch.setattr(prefect_server, "wait_ready", late)
    hub.ctx.keyring  # noqa: B018 - the key's one-time creation notice is not the command's output
    result = invoke(hub, "sync", "crm")
    assert isinstance(result.exception, RuntimeError)  # `crossdock`'s main() makes it one line
    (run,) = runs.list_runs(hub.ctx.engine)
    assert run.status == "failed" and "ephemeral Prefect API server" in (run.error or "")
    ended = hub.ctx.audit.entries(action="sync.end")
    assert ended[-1]["details"]["status"] == "failed" and ended[-1]["details"]["run_id"] == run.id
