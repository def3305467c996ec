"""`crossdock api usage` shows what the ledger counted, per account and day."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.apigov import ApiGate, Budget, EgressRefused, EgressRules, QuotaExhausted
from hub.cli.app import app
from hub.context import HubContext

WORKSPACE = "version: 1\nconnections: {}\n"
URL = "https://api.hubapi.com/crm/v3/objects/contacts"


def test_usage_lists_calls_refusals_and_quota_stops(tmp_path: Path) -> None:
    (tmp_path / "crossdock.yaml").write_text(WORKSPACE)
    ctx = HubContext(tmp_path)
    rules = EgressRules("crm", "read", ("api.hubapi.com",))
    gate = ApiGate(account="portal", budget=Budget(daily=2), rules=rules, engine=ctx.engine)
    gate.acquire("GET", URL)
    gate.acquire("GET", URL)
    with pytest.raises(QuotaExhausted):
        gate.acquire("GET", URL)
    with pytest.raises(EgressRefused):
        gate.acquire("GET", "https://evil.example/")
    result = CliRunner().invoke(app, ["--workspace", str(tmp_path), "api", "usage", "--json"])
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.stdout)
    assert (row["account"], row["calls"], row["daily_limit"], row["quota_stops"], row["refused"]) == (
        "portal",
        2,
        2,
        1,
        1,
    )
    table = CliRunner().invoke(app, ["--workspace", str(tmp_path), "api", "usage"])
    assert table.exit_code == 0 and "portal" in table.stdout
