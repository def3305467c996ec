"""Write-back connectors declare their config: keys checked when crossdock.yaml loads, values
when the connector is built, both naming the file, line and key; secrets and the refusing
delete come from the shared base."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from hub.errors import ConfigError
from hub.workspace import load_workspace
from hub.workspace.locate import writeback_connectors
from hub.writeback import Change, WritebackBase, WritebackConfig, load_writeback, writeback_class

ROOT = Path(__file__).resolve().parents[2]

WORKSPACE = """\
version: 1
connections:
  out:
    source:
      warehouse: sqlite:///warehouse.db
    destination:
      type: {type}
      config:
{config}
    streams:
      profiles:
        sync_mode: full_refresh
        mapping: warehouse/profiles
"""
CONFIG_LINE = 9  # the first line under `config:`


def workspace(tmp_path: Path, type_: str, config: str) -> Path:
    path = tmp_path / "crossdock.yaml"
    path.write_text(
        WORKSPACE.format(type=type_, config=textwrap.indent(textwrap.dedent(config).strip(), " " * 8))
    )
    return path


@pytest.mark.parametrize(
    "type_,config,line,key",
    [
        (
            "hubspot",
            """
        base_url: ${env:HUBSPOT_URL:-http://127.0.0.1:9}
        acces_token: ${secret:HUBSPOT_TOKEN}
        """,
            CONFIG_LINE + 1,
            "acces_token",
        ),
        (
            "shopify",
            """
        shop: acme
        access_token: ${secret:SHOPIFY_TOKEN}
        location: 65000000001
        """,
            CONFIG_LINE + 2,
            "location",
        ),
        (
            "zendesk",
            """
        subdomain: acme
        credentials:
          credentials: api_token
          email: agent@example.com
          api_tokn: ${secret:ZENDESK_TOKEN}
        """,
            CONFIG_LINE + 4,
            "credentials.api_tokn",
        ),
    ],
)
def test_a_misspelt_key_fails_the_workspace_load_naming_file_line_and_key(
    tmp_path: Path, type_: str, config: str, line: int, key: str
) -> None:
    path = workspace(tmp_path, type_, config)
    with pytest.raises(ConfigError) as err:
        load_workspace(path)
    assert str(err.value).startswith(
        f"{path}:{line} (key `connections.out.destination.config.{key}`): unknown key"
    )
    assert (err.value.line, err.value.key) == (line, f"connections.out.destination.config.{key}")


def test_a_close_misspelling_is_not_also_reported_missing(tmp_path: Path) -> None:
    path = workspace(tmp_path, "hubspot", "acces_token: ${secret:HUBSPOT_TOKEN}")
    with pytest.raises(ConfigError, match="did you mean `access_token`") as err:
        load_workspace(path)
    assert "needs `access_token`" not in str(err.value)


@pytest.mark.parametrize(
    "type_,config,line,key,says",
    [
        # an absent key has no line of its own: the line of `config:`, or of its parent key
        (
            "facebook",
            "access_token: ${secret:FB_TOKEN}",
            CONFIG_LINE - 1,
            "audience_id",
            "facebook write-back needs `audience_id`",
        ),
        (
            "onetrust",
            """
        collection_point_token: ${secret:OT_JWT}
        access_token: ${secret:OT_TOKEN}
        """,
            CONFIG_LINE - 1,
            "purposes",
            "onetrust write-back needs `purposes`",
        ),
        (
            "mailchimp",
            """
        list_id: abc123
        credentials: {auth_type: apikey}
        """,
            CONFIG_LINE + 1,
            "credentials",
            "mailchimp write-back needs `credentials.apikey`",
        ),
    ],
)
def test_a_missing_required_key_fails_the_workspace_load_naming_file_line_and_key(
    tmp_path: Path, type_: str, config: str, line: int, key: str, says: str
) -> None:
    path = workspace(tmp_path, type_, config)
    with pytest.raises(ConfigError) as err:
        load_workspace(path)
    assert str(err.value).startswith(
        f"{path}:{line} (key `connections.out.destination.config.{key}`): {says}"
    )


def test_references_pass_the_load_and_values_are_checked_when_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = workspace(
        tmp_path,
        "hubspot",
        """
        access_token: ${env:WB_TOKEN}
        max_attempts: ${env:WB_ATTEMPTS}
        """,
    )
    ws = load_workspace(path)  # neither variable is set: the load checks keys only
    config = ws.connection("out").destination.config
    monkeypatch.setenv("WB_TOKEN", "pat-secret")
    monkeypatch.setenv("WB_ATTEMPTS", "many")
    resolved = {"access_token": "pat-secret", "max_attempts": "many"}
    with pytest.raises(ConfigError) as err:
        load_writeback(ROOT, "hubspot", resolved, workspace_file=path, connection="out")
    assert str(err.value).startswith(
        f"{path}:{CONFIG_LINE + 1} (key `connections.out.destination.config.max_attempts`): "
    )
    assert "valid integer" in str(err.value)
    assert "pat-secret" not in str(err.value)
    assert config["max_attempts"] == "${env:WB_ATTEMPTS}"  # still unresolved in the model


def test_without_the_workspace_file_the_key_is_still_named() -> None:
    with pytest.raises(
        ConfigError,
        match=r"`destination.config.object`: Input should be "
        r"'contacts' or 'companies'",
    ):
        load_writeback(ROOT, "hubspot", {"access_token": "t", "object": "deals"})


def test_an_empty_token_is_refused_as_missing() -> None:
    with pytest.raises(
        ConfigError,
        match=r"`destination.config.access_token`: needs "
        r"`access_token`, which is empty",
    ):
        load_writeback(ROOT, "facebook", {"audience_id": "1", "access_token": ""})


def build(name: str, config: dict[str, Any]) -> Any:
    return load_writeback(ROOT, name, {"base_url": "http://127.0.0.1:9", **config})


def test_secret_values_are_every_secret_of_the_model_nested_ones_too() -> None:
    zendesk = build(
        "zendesk",
        {"credentials": {"credentials": "api_token", "email": "agent@example.com", "api_token": "zd-secret"}},
    )
    onetrust = build(
        "onetrust",
        {"collection_point_token": "jwt-secret", "access_token": "oauth-secret", "purposes": {"n": "id-1"}},
    )
    mailchimp = build(
        "mailchimp", {"list_id": "l1", "credentials": {"auth_type": "apikey", "apikey": "key-us6"}}
    )
    try:
        assert zendesk.secret_values() == ["zd-secret"]  # not the agent's email
        assert sorted(onetrust.secret_values()) == ["jwt-secret", "oauth-secret"]
        assert mailchimp.secret_values() == ["key-us6"]
    finally:
        for api in (zendesk, onetrust, mailchimp):
            api.close()


@pytest.mark.parametrize(
    "name,config",
    [
        ("hubspot", {"access_token": "t"}),
        ("shopify", {"access_token": "t"}),
        ("zendesk", {"credentials": {"credentials": "oauth2.0", "access_token": "t"}}),
        ("onetrust", {"collection_point_token": "t", "access_token": "t", "purposes": {"n": "i"}}),
    ],
)
def test_a_connector_that_cannot_delete_refuses_with_the_write_mode_to_use(
    name: str, config: dict[str, Any]
) -> None:
    api = build(name, config)
    try:
        assert api.deletes is False
        with pytest.raises(ConfigError, match=f"^{name} write-back cannot delete; use write_mode merge$"):
            api.delete([Change("crossdock:p1", "a@example.org", {}, "delete", "1")])
    finally:
        api.close()


@pytest.mark.parametrize("name", writeback_connectors(ROOT))
def test_every_connector_declares_a_strict_config_on_the_shared_base(name: str) -> None:
    cls = writeback_class(ROOT, name)
    assert issubclass(cls, WritebackBase)
    assert issubclass(cls.Config, WritebackConfig)
    assert cls.Config.model_config["extra"] == "forbid"
    assert cls.name == name


def test_the_retry_settings_reach_the_http_client() -> None:
    api = build("hubspot", {"access_token": "t", "max_attempts": 2, "backoff_factor": 0.25, "timeout": 7})
    try:
        client = api.client
        assert (client.max_attempts, client.backoff) == (2, 0.25)
        assert client._client.timeout.read == 7
    finally:
        api.close()
