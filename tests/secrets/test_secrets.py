"""Secrets at rest: encryption, rotation under load, and bad key material with clear errors."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from hub.cli import app
from hub.context import HubContext
from hub.secrets import KEY_ENV, KeyMaterialError, SecretStore, load_keyring, save_keyring
from hub.store import create_db_and_tables, get_engine


@pytest.fixture(autouse=True)
def _no_env_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.delenv("CROSSDOCK_STORE_URL", raising=False)


def store(tmp_path: Path) -> SecretStore:
    engine = get_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    create_db_and_tables(engine)
    state = tmp_path / ".crossdock"
    return SecretStore(engine, load_keyring(state), reload=lambda: load_keyring(state))


def test_values_are_encrypted_at_rest(tmp_path: Path) -> None:
    s = store(tmp_path)
    s.set("HUBSPOT_TOKEN", "pat-na1-very-secret")
    assert s.get("HUBSPOT_TOKEN") == "pat-na1-very-secret"
    with s.engine.connect() as conn:
        raw = conn.execute(text("SELECT ciphertext FROM secrets")).scalar_one()
    assert "very-secret" not in raw
    assert "very-secret" not in (tmp_path / "hub.db").read_bytes().decode("latin-1")
    assert [i.name for i in s.list()] == ["HUBSPOT_TOKEN"]
    assert s.delete("HUBSPOT_TOKEN") and s.list() == []


def test_key_file_is_created_private(tmp_path: Path) -> None:
    load_keyring(tmp_path / ".crossdock")
    assert oct((tmp_path / ".crossdock" / "master.key").stat().st_mode & 0o777) == "0o600"


def test_processes_creating_the_first_key_at_once_all_use_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two workers starting flow runs on a new workspace: the one that loses the race to
    create the key file uses the winner's key, not its own (its audit entries would not verify)."""
    from hub.secrets import keys

    state = tmp_path / ".crossdock"
    theirs = keys.Keyring({1: os.urandom(32)})
    create = keys._create_keyring

    def another_process_first(state_dir: Path, keyring: keys.Keyring) -> bool:
        create(state_dir, theirs)  # made between our look and our write
        return create(state_dir, keyring)

    monkeypatch.setattr(keys, "_create_keyring", another_process_first)
    assert load_keyring(state) == theirs
    monkeypatch.setattr(keys, "_create_keyring", create)
    assert load_keyring(state) == theirs
    assert sorted(p.name for p in state.iterdir()) == ["master.key"]  # no temporary file left


def test_rotation_while_readers_read(tmp_path: Path) -> None:
    writer = store(tmp_path)
    for i in range(20):
        writer.set(f"S{i}", f"value-{i}")
    errors: list[Exception] = []
    stop = threading.Event()

    def read_forever() -> None:
        reader = store(tmp_path)  # loaded the old keyring, like a sync already running
        while not stop.is_set():
            try:
                for i in range(20):
                    assert reader.get(f"S{i}") == f"value-{i}"
            except Exception as exc:  # collected and asserted below
                errors.append(exc)
                return

    readers = [threading.Thread(target=read_forever) for _ in range(3)]
    for t in readers:
        t.start()
    new = writer.keyring.rotated()
    save_keyring(tmp_path / ".crossdock", new)
    writer.use_keyring(new)
    assert writer.reencrypt_all() == 20
    stop.set()
    for t in readers:
        t.join()
    assert errors == []
    assert {i.key_version for i in writer.list()} == {2}


def test_wrong_key_says_what_to_do(tmp_path: Path) -> None:
    store(tmp_path).set("T", "v-123456")
    save_keyring(tmp_path / ".crossdock", load_keyring(tmp_path / "other"))  # a different key
    with pytest.raises(KeyMaterialError, match="cannot be decrypted.*restore the key"):
        store(tmp_path).get("T")


def test_corrupted_row_is_a_clear_error(tmp_path: Path) -> None:
    s = store(tmp_path)
    s.set("T", "v-123456")
    with s.engine.begin() as conn:
        conn.execute(text("UPDATE secrets SET ciphertext = 'gAAAAAB-broken'"))
    with pytest.raises(KeyMaterialError, match="secret `T` cannot be decrypted"):
        s.get("T")


@pytest.mark.parametrize(
    ("content", "mode", "needle"),
    [
        ('{"keys": {"1": "c2hvcnQ="}}', 0o600, "truncated"),
        ("not json, not base64 !!", 0o600, "not a Crossdock key"),
        (None, 0o644, "readable by others"),
    ],
)
def test_bad_key_files(tmp_path: Path, content: str | None, mode: int, needle: str) -> None:
    state = tmp_path / ".crossdock"
    load_keyring(state)
    path = state / "master.key"
    if content is not None:
        path.write_text(content)
    os.chmod(path, mode)
    with pytest.raises(KeyMaterialError, match=needle):
        load_keyring(state)


def workspace(folder: Path) -> Path:
    """A folder the CLI accepts as a workspace (it refuses one without crossdock.yaml)."""
    (folder / "crossdock.yaml").write_text("version: 1\nconnections: {}\n")
    return folder


def test_cli_reads_values_from_stdin_and_never_prints_them(tmp_path: Path) -> None:
    runner = CliRunner()
    workspace(tmp_path)
    ws = ["--workspace", str(tmp_path)]
    result = runner.invoke(app, [*ws, "secrets", "set", "API_KEY"], input="zz-top-secret\n")
    assert result.exit_code == 0 and "zz-top-secret" not in result.output
    listed = runner.invoke(app, [*ws, "secrets", "list"])
    assert "API_KEY" in listed.output and "zz-top-secret" not in listed.output
    rotated = runner.invoke(app, [*ws, "secrets", "rotate-key"])
    assert rotated.exit_code == 0 and "1 secrets re-encrypted" in rotated.output
    assert HubContext(tmp_path).secrets.get("API_KEY") == "zz-top-secret"
    verify = runner.invoke(app, [*ws, "audit", "verify"])
    assert verify.exit_code == 0 and "2 entries verified" in verify.output  # set, rotate


def test_cli_bad_key_is_one_line_and_exit_2(tmp_path: Path) -> None:
    state = workspace(tmp_path) / ".crossdock"
    load_keyring(state)
    os.chmod(state / "master.key", 0o644)
    result = CliRunner().invoke(app, ["--workspace", str(tmp_path), "secrets", "list"])
    assert result.exit_code == 2
    assert "readable by others" in result.output and "Traceback" not in result.output


def test_pseudonyms_survive_key_rotation_and_differ_between_keys(tmp_path: Path) -> None:
    keyring = load_keyring(tmp_path)
    rotated = keyring.rotated()
    assert rotated.primary == keyring.primary + 1
    assert rotated.pseudonym_key() == keyring.pseudonym_key()  # the same person, the same pseudonym
    assert load_keyring(tmp_path / "other").pseudonym_key() != keyring.pseudonym_key()
    assert keyring.pseudonym_key() not in (keyring.audit_key(keyring.primary),)


def test_a_password_written_into_a_database_url_is_masked_for_output() -> None:
    from hub.redaction import display_url

    assert (
        display_url("postgresql://app:s3cret@db.example:5432/wh?sslmode=require")
        == "postgresql://app:****@db.example:5432/wh?sslmode=require"
    )
    assert display_url("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"
    assert (
        display_url("postgresql://postgres@127.0.0.1:5432/test")
        == "postgresql://postgres@127.0.0.1:5432/test"
    )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def cli_ws(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("CROSSDOCK_AUDIT_HEAD", raising=False)
    if request.param == "postgres":
        monkeypatch.setenv("CROSSDOCK_STORE_URL", request.getfixturevalue("pg_schema_url"))
    return workspace(tmp_path)


def test_no_secret_changes_while_the_audit_log_refuses_its_entry(cli_ws: Path) -> None:
    runner = CliRunner()

    def cli(*args: str, value: str | None = None):  # type: ignore[no-untyped-def]
        return runner.invoke(app, ["--workspace", str(cli_ws), *args], input=value)

    assert cli("secrets", "set", "A", value="a-value\n").exit_code == 0
    assert cli("secrets", "set", "B", value="b-value\n").exit_code == 0
    with HubContext(cli_ws).engine.begin() as conn:  # someone cuts the newest entry
        conn.execute(text("DELETE FROM audit_events WHERE seq = 2"))
    for args in (("secrets", "set", "C"), ("secrets", "delete", "A"), ("secrets", "rotate-key")):
        result = cli(*args, value="c-value\n")
        assert result.exit_code == 1, args
        assert "refusing to write to the audit log" in result.output
        assert "entry 2 was cut off the end" in result.output
    assert [i.name for i in HubContext(cli_ws).secrets.list()] == ["A", "B"]
    assert load_keyring(cli_ws / ".crossdock").primary == 1  # the key was not rotated
    assert cli("audit", "acknowledge", "--reason", "test").exit_code == 0
    assert cli("secrets", "set", "C", value="c-value\n").exit_code == 0
    assert HubContext(cli_ws).secrets.get("C") == "c-value"
    assert [e["action"] for e in HubContext(cli_ws).audit.entries()] == [
        "secret.set",
        "audit.acknowledge",
        "secret.set",
    ]


def test_an_unreadable_audit_row_stops_secrets_set_without_a_traceback(tmp_path: Path) -> None:
    # Only SQLite can hold a seq that is not a number (PostgreSQL's integer column refuses it).
    ws = ["--workspace", str(workspace(tmp_path))]
    assert CliRunner().invoke(app, [*ws, "secrets", "set", "A"], input="a\n").exit_code == 0
    with HubContext(tmp_path).engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET seq = 'one' WHERE seq = 1"))
    result = CliRunner().invoke(app, [*ws, "secrets", "set", "B"], input="b\n")
    assert result.exit_code == 1 and "has seq 'one'" in result.output
    assert isinstance(result.exception, SystemExit)  # a message, not a traceback
    assert [i.name for i in HubContext(tmp_path).secrets.list()] == ["A"]
