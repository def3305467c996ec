"""The reconcile flow on a real Prefect server: the report becomes a markdown artifact on the
flow run, and differences above `reconcile.notify_above` post to a real local webhook; a
clean check at the threshold posts nothing."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prefect.settings import PREFECT_API_URL

from flows.reconcile import reconcile_connection_flow
from hub.context import HubContext
from hub.pipeline import begin_run, end_run, plan_stream, sync_stream
from hub.sandbox import Sandbox
from tests.ops.webhook import local_receiver

pytestmark = pytest.mark.usefixtures("prefect_server")

WORKSPACE = """\
version: 1
connections:
  crm:
    source:
      connector: hubspot
      config: {{base_url: {url}, access_token: sandbox-token, start_date: "2020-01-01T00:00:00Z"}}
    destination:
      type: sql
      config: {{url: "sqlite:///{tmp}/warehouse.db"}}
    reconcile: {{notify_above: 0}}
    streams:
      contacts:
        mapping: hubspot/contacts
notifications:
  webhook: ${{env:CROSSDOCK_TEST_WEBHOOK}}
"""


@pytest.fixture
def small() -> Iterator[Sandbox]:
    with Sandbox(seed=5, scale=60, port=0) as sb:
        yield sb


def test_differences_become_an_artifact_and_a_notification(
    small: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "crossdock.yaml").write_text(textwrap.dedent(WORKSPACE).format(url=small.url, tmp=tmp_path))
    ctx = HubContext(tmp_path)
    conn = ctx.workspace().connection("crm")
    run_id = begin_run(ctx, "crm", False)
    info = sync_stream(plan_stream(ctx, conn, "contacts", run_id, False))
    end_run(ctx, run_id, "crm", False, [info], info.seconds, "warehouse")
    gone = sorted(small.hubspot.objects("contacts"), key=int)[7]
    with local_receiver() as receiver:
        monkeypatch.setenv("CROSSDOCK_TEST_WEBHOOK", receiver.url)
        clean = reconcile_connection_flow("crm", workspace_dir=str(tmp_path))
        assert clean["status"] == "clean" and receiver.bodies == []  # 0 differences: not news
        with small.faults.planted("/crm/v3/objects/contacts", "deleted", record=gone, times=None):
            found = reconcile_connection_flow("crm", workspace_dir=str(tmp_path))
    assert found["status"] == "differences" and found["streams"][0]["extra"] == 1
    (body,) = receiver.bodies
    assert body["text"].startswith("crossdock: reconcile of `crm` differences: 1 difference(s)")
    assert body["streams"][0]["samples"] == {"extra": [f"hubspot|{gone}"]}
    assert "T0KEN" not in str(ctx.audit.entries(action="notify.sent"))  # the webhook URL is a secret
    # the latest under the key: the check that found it (plain HTTP: this Prefect client sends
    # nulls its server refuses for the filter's unset fields)
    api = PREFECT_API_URL.value()
    body = {"artifacts": {"key": {"any_": ["reconcile-crm"]}}, "limit": 1, "sort": "UPDATED_DESC"}
    (artifact,) = httpx.post(f"{api}/artifacts/filter", json=body).raise_for_status().json()
    markdown = artifact["data"]
    assert "| contacts | 59 | 60 | 0 | 1 | 0 |" in markdown and "differences" in markdown, markdown
