"""Run notifications against a real local receiver: the body, retries, redaction, and a
webhook that stays down (logged and audited, the run untouched)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from hub.context import HubContext
from hub.notify import notify_run, post_webhook
from hub.redaction import register_secret
from hub.store import runs
from tests.ops.conftest import write_workspace
from tests.ops.webhook import Receiver

NOTIFY = """\
notifications:
  webhook: "${{env:CROSSDOCK_TEST_WEBHOOK}}"
  on: [failed, partial]
  attempts: {attempts}
"""


def _ctx(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver: Receiver, attempts: int = 3
) -> HubContext:
    monkeypatch.delenv("CROSSDOCK_STORE_URL", raising=False)
    monkeypatch.setenv("CROSSDOCK_TEST_WEBHOOK", receiver.url)
    return write_workspace(tmp_path, extra=NOTIFY.format(attempts=attempts))


def _finished(ctx: HubContext, status: str, error: str | None):  # type: ignore[no-untyped-def]
    runs.start_run(ctx.engine, f"run-{status}", "crm", False)
    return runs.finish_run(ctx.engine, f"run-{status}", status, error)


def test_transient_failures_are_retried_until_taken(receiver: Receiver) -> None:
    receiver.codes = [503, 429, 200]
    assert post_webhook(receiver.url, '{"text": "hi"}', attempts=3, timeout=5, backoff=0.01) == 3
    assert len(receiver.bodies) == 3 and receiver.content_types[0] == "application/json"


def test_a_client_error_is_not_retried(receiver: Receiver) -> None:
    receiver.codes = [404, 200]
    with pytest.raises(httpx.HTTPStatusError):
        post_webhook(receiver.url, "{}", attempts=3, timeout=5, backoff=0.01)
    assert len(receiver.bodies) == 1


def test_a_partial_run_posts_slack_text_with_secrets_masked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver: Receiver
) -> None:
    ctx = _ctx(tmp_path, monkeypatch, receiver)
    register_secret("pat-9f8e7d6c5b4a")
    run = _finished(ctx, "partial", "companies: 401 for token pat-9f8e7d6c5b4a")
    assert notify_run(ctx, run) is True
    [body] = receiver.bodies
    assert body["status"] == "partial" and body["run_id"] == "run-partial" and body["connection"] == "crm"
    assert body["text"].startswith("crossdock: connection `crm` run run-partial partial")
    assert b"pat-9f8e7d6c5b4a" not in receiver.raw[0] and "****" in body["error"]
    [sent] = ctx.audit.entries(action="notify.sent")
    assert sent["details"]["run_id"] == "run-partial" and receiver.url not in json.dumps(sent, default=str)


def test_statuses_not_asked_for_post_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver: Receiver
) -> None:
    ctx = _ctx(tmp_path, monkeypatch, receiver)
    assert notify_run(ctx, _finished(ctx, "succeeded", None)) is False
    assert notify_run(ctx, _finished(ctx, "abandoned", "its process died")) is False  # not in `on`
    assert receiver.bodies == []


def test_a_webhook_that_stays_down_is_logged_and_audited(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    ctx = _ctx(tmp_path, monkeypatch, receiver, attempts=2)
    receiver.codes = [500]
    assert notify_run(ctx, _finished(ctx, "failed", "contacts: boom")) is False
    assert len(receiver.bodies) == 2
    [failed] = ctx.audit.entries(action="notify.failed")
    assert failed["details"]["attempts"] == 2 and "500" in failed["details"]["error"]
    assert "T0KEN-abc123" not in json.dumps(failed, default=str) and "T0KEN-abc123" not in caplog.text
    assert "not delivered" in caplog.text


def test_an_unset_variable_is_audited_not_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver: Receiver
) -> None:
    ctx = _ctx(tmp_path, monkeypatch, receiver)
    monkeypatch.delenv("CROSSDOCK_TEST_WEBHOOK")
    assert notify_run(ctx, _finished(ctx, "failed", "x")) is False
    [failed] = ctx.audit.entries(action="notify.failed")
    assert "CROSSDOCK_TEST_WEBHOOK" in failed["details"]["error"]
