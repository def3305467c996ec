"""Egress rules, the connectors' declarations and crossdock.yaml's `api_budgets:` as data:
what each allows, and that each denies what it should (file:line on bad config)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.apigov import EgressRefused, EgressRules, declaration_for
from hub.apigov.budget import Budget, Window
from hub.errors import ConfigError
from hub.workspace import load_workspace
from hub.workspace.locate import BUILTIN_ROOT, known_connectors

HUBSPOT = EgressRules(
    connection="crm",
    side="read",
    hosts=("api.hubapi.com", "*.zendesk.com"),
    read_writes=("POST /crm/v3/objects/*/search",),
)


@pytest.mark.parametrize(
    ("rules", "method", "url", "refused"),
    [
        (HUBSPOT, "GET", "https://api.hubapi.com/crm/v3/objects/contacts", None),
        (HUBSPOT, "POST", "https://api.hubapi.com/crm/v3/objects/deals/search", None),
        (HUBSPOT, "GET", "https://acme.zendesk.com/api/v2/users.json", None),
        (HUBSPOT, "GET", "http://127.0.0.1:8765/crm/v3/objects/contacts", None),
        (HUBSPOT, "GET", "https://evil.example/crm/v3/objects/contacts", "host"),
        (HUBSPOT, "GET", "https://api.hubapi.com.evil.example/x", "host"),
        (HUBSPOT, "GET", "https://zendesk.com/api/v2/users.json", "host"),  # `*.` needs a subdomain
        (HUBSPOT, "POST", "https://api.hubapi.com/crm/v3/objects/contacts/batch/upsert", "method"),
        (HUBSPOT, "POST", "https://api.hubapi.com/crm/v3/objects/contacts/a/search", "method"),
        (HUBSPOT, "DELETE", "https://api.hubapi.com/crm/v3/objects/contacts/1", "method"),
        (EgressRules("out", "write", ("api.hubapi.com",)), "POST", "https://api.hubapi.com/x", None),
        (EgressRules("out", "write", (), allow_loopback=False), "GET", "http://localhost:1/x", "host"),
    ],
)
def test_egress_rules(rules: EgressRules, method: str, url: str, refused: str | None) -> None:
    if refused is None:
        rules.check(method, url)
    else:
        with pytest.raises(EgressRefused) as caught:
            rules.check(method, url)
        assert caught.value.rule == refused


@pytest.mark.parametrize("connector", known_connectors(BUILTIN_ROOT))
def test_every_shipped_connector_declares_its_hosts(connector: str) -> None:
    declared = declaration_for(BUILTIN_ROOT, connector)
    assert declared.hosts, f"connectors/{connector}/api.yaml declares no host"


def test_an_account_replaces_only_the_fields_it_names() -> None:
    vendor = declaration_for(BUILTIN_ROOT, "hubspot").budget
    assert vendor.daily == 250_000 and len(vendor.windows) == 2
    merged = vendor.merged(Budget(windows=[Window(calls=190, seconds=10)]))
    assert merged.daily == 250_000 and merged.windows == [Window(calls=190, seconds=10)]


WORKSPACE = """\
version: 1
connections:
  crm:
    source:
      connector: hubspot
      config: {{access_token: t}}
    destination: {{type: sql, config: {{url: "sqlite:///w.db"}}}}
    streams:
      owners: {{sync_mode: full_refresh, mapping: hubspot/owners}}
api_budgets:
{budgets}
"""


@pytest.mark.parametrize(
    ("budgets", "line", "says"),
    [
        ("  allowed_hosts: [x]", 11, "unknown key"),
        ("  accounts:\n    p: {vendor: hubspot, connections: [nope]}", 12, "no connection named `nope`"),
        ("  accounts:\n    p: {vendor: zendesk, connections: [crm]}", 12, "does not call zendesk"),
        ("  accounts:\n    p:\n      vendor: hubspot\n      windows: [{calls: 0, seconds: 1}]", 14, "calls"),
        (
            "  accounts:\n    p: {vendor: hubspot, connections: [crm]}\n"
            "    q: {vendor: hubspot, connections: [crm]}",
            13,
            "in account `p` already",
        ),
    ],
)
def test_bad_api_budgets_name_the_line(tmp_path: Path, budgets: str, line: int, says: str) -> None:
    (tmp_path / "crossdock.yaml").write_text(WORKSPACE.format(budgets=budgets))
    with pytest.raises(ConfigError, match=says) as caught:
        load_workspace(tmp_path / "crossdock.yaml")
    assert caught.value.line == line


def test_good_api_budgets_load(tmp_path: Path) -> None:
    budgets = "  allow_hosts: [api.eu1.hubapi.com]\n  accounts:\n"
    budgets += "    p: {vendor: hubspot, connections: [crm], daily: 5}"
    (tmp_path / "crossdock.yaml").write_text(WORKSPACE.format(budgets=budgets))
    section = load_workspace(tmp_path / "crossdock.yaml").api_budgets
    assert section.allow_hosts == ["api.eu1.hubapi.com"]
    found = section.account_for("crm", "hubspot")
    assert found is not None and found[0] == "p" and found[1].override() == Budget(daily=5)
