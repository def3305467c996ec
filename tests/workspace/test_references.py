"""`${...}` references: a typo is a config error, not a credential; what cannot resolve is
found before a run starts, naming file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.context import HubContext
from hub.errors import ConfigError
from hub.workspace import resolve_config
from hub.workspace.references import check_references

MANIFEST = """
version: 6.0.0
type: DeclarativeSource
streams:
  - name: people
    incremental_sync: {type: DatetimeBasedCursor, cursor_field: updated_at}
"""

WORKSPACE = """\
version: 1
connections:
  crm:
    source:
      connector: fake
      config:
        token: ${secret:CRM_TOKEN}
        region: ${env:CRM_REGION:-eu}
        hosts: ["${env:CRM_HOST}"]
    destination:
      type: sql
      config:
        url: sqlite:///warehouse.db
    streams:
      people:
        mapping: fake/people
  other:
    source:
      connector: fake
      config:
        token: ${secret:OTHER_TOKEN}
    destination:
      type: sql
      config:
        url: sqlite:///warehouse.db
    streams:
      people:
        mapping: fake/people
"""


@pytest.fixture
def ctx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> HubContext:
    monkeypatch.delenv("CROSSDOCK_STORE_URL", raising=False)
    monkeypatch.setenv("CRM_HOST", "crm.example")
    (tmp_path / "connectors" / "fake").mkdir(parents=True)
    (tmp_path / "connectors" / "fake" / "manifest.yaml").write_text(MANIFEST)
    (tmp_path / "mappings" / "fake").mkdir(parents=True)
    (tmp_path / "mappings" / "fake" / "people.yaml").write_text("entity: contact\n")
    (tmp_path / "crossdock.yaml").write_text(WORKSPACE)
    context = HubContext(tmp_path)
    context.secrets.set("CRM_TOKEN", "crm-token-value")
    context.secrets.set("OTHER_TOKEN", "other-token-value")
    return context


def rewrite(ctx: HubContext, old: str, new: str) -> None:
    text = ctx.workspace_file.read_text()
    assert old in text
    ctx.workspace_file.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ("${evn:TOKEN}", "did you mean `${env:TOKEN}`"),
        ("${secrte:TOKEN}", "did you mean `${secret:TOKEN}`"),
        ("${TOKEN}", "write ${env:TOKEN} or ${secret:TOKEN}"),
        ("Bearer ${env:TOKEN", "not closed"),
        ("${env:1TOKEN}", "not a valid env name"),
        ("${env:TOKEN:default}", "not a valid env name"),
    ],
)
def test_a_malformed_reference_is_an_error_not_a_value(
    value: str, needle: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOKEN", "t0k")
    with pytest.raises(ConfigError) as info:
        resolve_config({"auth": {"token": value}}, where="connections.crm.source.config")
    assert needle in str(info.value) and "connections.crm.source.config.auth.token" in str(info.value)


def test_a_literal_dollar_brace_is_written_doubled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOKEN", "t0k")
    assert resolve_config({"p": "a$${b}-${env:TOKEN}", "q": "$5 {x}"}, where="c") == {
        "p": "a${b}-t0k",
        "q": "$5 {x}",
    }


def test_everything_resolvable_passes_and_nothing_is_audited(ctx: HubContext) -> None:
    before = len(list(ctx.audit.entries()))
    check_references(ctx, connection="crm")
    check_references(ctx)
    assert len(list(ctx.audit.entries())) == before  # a check is not a use


@pytest.mark.parametrize(
    ("old", "new", "line", "needle"),
    [
        (
            "${secret:CRM_TOKEN}",
            "${secret:CRM_TOKN}",
            7,
            "secret `CRM_TOKN` is not set; run `crossdock secrets set CRM_TOKN`",
        ),
        ("${env:CRM_HOST}", "${env:CRM_HOTS}", 9, "environment variable CRM_HOTS is not set"),
        ("${env:CRM_REGION:-eu}", "${evn:CRM_REGION:-eu}", 8, "did you mean `${env:CRM_REGION:-eu}`"),
        ("url: sqlite:///warehouse.db", "url: ${secret:WAREHOUSE_URL}", 13, "WAREHOUSE_URL"),
    ],
)
def test_what_cannot_resolve_names_file_and_line(
    ctx: HubContext, old: str, new: str, line: int, needle: str
) -> None:
    rewrite(ctx, old, new)
    with pytest.raises(ConfigError) as info:
        check_references(ctx, connection="crm")
    assert str(info.value).startswith(f"{ctx.workspace_file}:{line} ")
    assert needle in str(info.value)


def test_only_the_named_connection_is_checked_and_deploy_checks_all(ctx: HubContext) -> None:
    rewrite(ctx, "${secret:OTHER_TOKEN}", "${secret:OTHER_TOKN}")
    check_references(ctx, connection="crm")
    with pytest.raises(ConfigError, match=r"crossdock.yaml:21 .*OTHER_TOKN"):
        check_references(ctx)
    with pytest.raises(ConfigError, match="no connection named `nope`"):
        check_references(ctx, connection="nope")


def test_every_problem_is_listed(ctx: HubContext) -> None:
    rewrite(ctx, "${secret:CRM_TOKEN}", "${secret:A}")
    rewrite(ctx, "${env:CRM_HOST}", "${evn:CRM_HOST}")
    with pytest.raises(ConfigError) as info:
        check_references(ctx)
    text = str(info.value)
    assert "2 references cannot be resolved" in text
    assert f"{ctx.workspace_file}:7 " in text and f"{ctx.workspace_file}:9 " in text
    assert f"{ctx.workspace_file}:21 " not in text  # OTHER_TOKEN is set
    assert "OTHER_TOKEN" not in text
