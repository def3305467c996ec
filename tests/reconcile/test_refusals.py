"""What reconcile refuses before reading anything: a write-back connection (no warehouse
table to compare), an unknown connection or stream."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hub.context import HubContext
from hub.errors import ConfigError
from hub.reconcile import reconcile_connection

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def ctx(tmp_path: Path) -> HubContext:
    shutil.copy(ROOT / "crossdock.yaml", tmp_path / "crossdock.yaml")
    return HubContext(tmp_path)


def test_a_write_back_connection_is_refused(ctx: HubContext) -> None:
    with pytest.raises(ConfigError, match="writes back to hubspot"):
        reconcile_connection(ctx, "profiles_to_crm")


def test_an_unknown_connection_or_stream_is_refused(ctx: HubContext) -> None:
    with pytest.raises(ConfigError, match="no connection named `nope`"):
        reconcile_connection(ctx, "nope")
    with pytest.raises(ConfigError, match="no stream `nope`"):
        reconcile_connection(ctx, "crm", streams=["nope"])
