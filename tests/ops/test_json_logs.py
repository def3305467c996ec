"""JSON log lines (hub/logs.py): the fields on each record, secrets masked, the worker's
environment variable, and the CLI's own errors as JSON too."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from hub.errors import ConfigError
from hub.logs import JsonLinesHandler, log_fields, use_log_format
from hub.redaction import register_secret

SECRET = "pat-na1-LOGCANARY+9f/3e=="


def test_record_carries_run_and_stream_and_masks_secrets() -> None:
    register_secret(SECRET)
    handler = JsonLinesHandler()
    handler.setStream(io.StringIO())
    logger = logging.getLogger("crossdock.test_json_logs")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("outside any run")
        with log_fields(run_id="r-1", connection="crm"):
            with log_fields(stream="contacts"):
                logger.warning("token %s refused", SECRET)
            try:
                raise RuntimeError(f"GET /x?hapikey={SECRET}")
            except RuntimeError:
                logger.exception("the flow stopped")
    finally:
        logger.removeHandler(handler)
    stream = handler.stream
    assert isinstance(stream, io.StringIO)
    outside, inside, failed = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert "run_id" not in outside and outside["level"] == "WARNING"
    assert inside["run_id"] == "r-1" and inside["connection"] == "crm" and inside["stream"] == "contacts"
    assert inside["message"] == "token **** refused"
    assert failed["run_id"] == "r-1" and "stream" not in failed  # the stream's block had ended
    assert "RuntimeError" in failed["exception"] and "hapikey=****" in failed["exception"]
    assert SECRET not in stream.getvalue()


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ConfigError, match="text, json"):
        use_log_format("yaml")


def _python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )


def test_a_worker_process_logs_json_from_the_environment_variable() -> None:
    # What a flow run on a worker does first (flows/sync.py): no CLI, only the environment.
    done = _python(
        f"""
        import logging
        from prefect.logging import get_logger
        from hub.logs import log_fields, use_log_format_from_env
        from hub.redaction import register_secret

        register_secret({SECRET!r})
        use_log_format_from_env()
        with log_fields(run_id="r-2", stream="users"):
            logging.getLogger("crossdock.pipeline").warning("users: key %s", {SECRET!r})
        get_logger("prefect.flow_runs").warning("a Prefect line")
        logging.getLogger("nobody.configured.this").warning("last resort")
        """,
        {"CROSSDOCK_LOG_FORMAT": "json"},
    )
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stderr.splitlines()]  # fails on any other line
    messages = [r["message"] for r in records]
    assert messages[0] == "users: key ****" and {"a Prefect line", "last resort"} <= set(messages)
    # outside a flow run Prefect warns (Python's warnings module): a JSON line as well
    assert all(
        m.startswith("UserWarning") for m in set(messages) - {messages[0], "a Prefect line", "last resort"}
    )
    assert records[0]["run_id"] == "r-2" and records[0]["stream"] == "users"
    assert SECRET not in done.stderr


def test_cli_errors_go_through_logging_in_json_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # In process, so the switch itself is faked (tests/pipeline/test_ops_flow_run.py runs the real
    # one, `--log-format json` in a CLI process); the
    # point here: handle_errors sends its message to the log, not to rich, in JSON mode.
    from typer.testing import CliRunner

    from hub.cli import app

    monkeypatch.setattr("hub.logs.json_logs", lambda: True)
    with caplog.at_level(logging.ERROR, logger="crossdock.cli"):
        result = CliRunner().invoke(app, ["--workspace", str(tmp_path), "status"])
    assert result.exit_code == 2 and "config error" not in result.output
    [record] = [r for r in caplog.records if r.name == "crossdock.cli"]
    assert (
        record.getMessage().startswith("config error: ") and "holds no crossdock.yaml" in record.getMessage()
    )
