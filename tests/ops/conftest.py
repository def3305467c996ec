"""Operations fixtures: an offline workspace (no sandbox: nothing here reads a source) and a
real local HTTP receiver standing in for a chat webhook."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.context import HubContext
from tests.ops.webhook import Receiver, local_receiver

WORKSPACE = """\
version: 1
connections:
  crm:
    source:
      connector: hubspot
      config: {{base_url: "http://127.0.0.1:9", access_token: sandbox-token}}
    destination:
      type: sql
      config: {{url: "sqlite:///{tmp}/warehouse.db"}}
    streams:
      contacts: {{mapping: hubspot/contacts}}
      companies: {{mapping: hubspot/companies}}
    schedule: "{schedule}"
  support:
    source:
      connector: zendesk
      config: {{base_url: "http://127.0.0.1:9"}}
    destination:
      type: sql
      config: {{url: "sqlite:///{tmp}/warehouse.db"}}
    streams:
      users: {{mapping: zendesk/users}}
"""


def write_workspace(tmp_path: Path, schedule: str = "0 3 * * *", extra: str = "") -> HubContext:
    (tmp_path / "crossdock.yaml").write_text(WORKSPACE.format(tmp=tmp_path, schedule=schedule) + extra)
    return HubContext(tmp_path)


@pytest.fixture
def ops_ctx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> HubContext:
    monkeypatch.delenv("CROSSDOCK_STORE_URL", raising=False)
    return write_workspace(tmp_path)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with local_receiver() as rec:
        yield rec
