"""What one `crossdock sync` pays before its stream (issue 19): the CLI imports neither the
CDK nor Prefect until a command needs them, and Prefect's temporary server is started by the
command at once, in its own process, only when Prefect would start one itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from hub.cli import prefect_server

ROOT = Path(__file__).resolve().parents[2]


def python(code: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        cwd=cwd,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_importing_the_cli_loads_neither_the_cdk_nor_prefect_nor_numpy() -> None:
    loaded = json.loads(
        python("""
        import json, sys
        import hub.cli
        print(json.dumps([m for m in ("airbyte_cdk", "prefect", "numpy", "pyarrow") if m in sys.modules]))
        """)
    )
    assert loaded == []


def test_secrets_registered_before_the_cdk_loads_all_reach_its_filter() -> None:
    out = json.loads(
        python("""
        import json, sys
        from hub.redaction import register_secret
        register_secret("first-s3cret")
        register_secret("second-s3cret")
        before = "airbyte_cdk" in sys.modules
        import hub.sources.declarative  # loads the CDK to run a source
        register_secret("third-s3cret")
        from airbyte_cdk.utils.airbyte_secrets_utils import filter_secrets
        print(json.dumps([before, filter_secrets("first-s3cret second-s3cret third-s3cret")]))
        """)
    )
    assert out == [False, "**** **** ****"]


@pytest.fixture
def clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No Prefect setting anywhere, and Prefect as if not imported yet (restored after)."""
    for name in list(os.environ):
        if name.startswith("PREFECT_") and name != prefect_server.STARTUP_SETTING:
            monkeypatch.delenv(name)
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect-home"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(sys.modules, "prefect", raising=False)
    return tmp_path


def test_the_server_is_started_early_only_where_prefect_would_start_one(
    clean: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    would = prefect_server._prefect_would_start_one
    assert would()
    monkeypatch.setenv("PREFECT_SERVER_EPHEMERAL_ENABLED", "false")
    assert not would(), "turned off"
    monkeypatch.delenv("PREFECT_SERVER_EPHEMERAL_ENABLED")
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    assert not would(), "a running server named"
    monkeypatch.delenv("PREFECT_API_URL")
    profiles = clean / "prefect-home" / "profiles.toml"
    profiles.parent.mkdir()
    profiles.write_text(
        'active = "ephemeral"\n[profiles.ephemeral]\nPREFECT_SERVER_ALLOW_EPHEMERAL_MODE = "true"\n'
    )
    assert would(), "Prefect's own default profile"
    profiles.write_text('active = "x"\n[profiles.x]\nPREFECT_API_URL = "http://10.0.0.1:4200/api"\n')
    assert not would(), "a profile names a server"
    profiles.unlink()
    (clean / "prefect.toml").write_text('[api]\nurl = "http://10.0.0.1:4200/api"\n')
    assert not would(), "prefect.toml in the working folder"
    (clean / "prefect.toml").unlink()
    (clean / "pyproject.toml").write_text("[tool.prefect.api]\nurl = 'http://10.0.0.1:4200/api'\n")
    assert not would(), "pyproject.toml's [tool.prefect]"
    (clean / "pyproject.toml").unlink()
    assert would()
    monkeypatch.setitem(sys.modules, "prefect", prefect_server)  # any module: Prefect is loaded
    assert not would(), "Prefect read its settings already (a test runner's, a user's script)"


def test_the_early_server_answers_serves_prefect_and_stops_at_exit(tmp_path: Path) -> None:
    out = json.loads(
        python(
            """
            import json, os, sys
            from hub.cli import prefect_server
            assert not prefect_server.start_early(), "not by the app called in-process"
            prefect_server.enable()  # as `crossdock`'s main() does
            assert prefect_server.start_early()
            prefect_server.wait_ready()
            from prefect.settings import PREFECT_API_URL  # imported after: it uses that server
            print(json.dumps([prefect_server.started(), PREFECT_API_URL.value(), prefect_server._proc.pid]))
            """,
            env={"PREFECT_HOME": str(tmp_path / "prefect-home"), "PREFECT_API_URL": ""},
            cwd=tmp_path,
        )
    )
    url, used, pid = out
    assert url.startswith("http://127.0.0.1:") and used == url
    assert not Path(f"/proc/{pid}").exists(), "stopped when the command exited"


def test_a_server_that_exits_is_one_error_naming_prefects_words(monkeypatch: pytest.MonkeyPatch) -> None:
    proc = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    proc.wait()
    monkeypatch.setattr(prefect_server, "_proc", proc)
    monkeypatch.setattr(prefect_server, "_url", "http://127.0.0.1:9/api")
    monkeypatch.setattr(prefect_server, "_ready", False)
    with pytest.raises(RuntimeError, match="ephemeral Prefect API server. Its process exited with code 3"):
        prefect_server.wait_ready()


def test_the_command_line_names_the_command_past_the_root_options() -> None:
    assert prefect_server.command_in(["--workspace", "sync", "sync", "crm"]) == "sync"
    assert prefect_server.command_in(["-w", "ws", "--log-format", "json", "stitch"]) == "stitch"
    assert prefect_server.command_in(["--workspace=ws", "runs", "-n", "3"]) == "runs"
    assert prefect_server.command_in(["--help"]) is None


def test_only_crossdock_running_a_flow_starts_the_server_as_it_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[bool] = []
    monkeypatch.setattr(prefect_server, "start_early", lambda: asked.append(True) or True)
    monkeypatch.setattr(prefect_server, "_enabled", False)
    start = prefect_server.start_for_command_line
    assert not start(["/usr/bin/pytest", "sync", "crm"]), "not crossdock"
    assert not start(["/venv/bin/crossdock", "runs"]), "runs no flow"
    assert not start(["/venv/bin/crossdock", "stitch", "--explain-config"]), "stitches nothing"
    assert not start(["/venv/bin/crossdock", "sync", "--help"])
    assert not asked and not prefect_server._enabled
    assert start(["/venv/bin/crossdock", "-w", "ws", "sync", "crm"])
    assert start(["-m", "stitch"]), "python -m hub.cli, while the package is found"
    assert asked == [True, True]
