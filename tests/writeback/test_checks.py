"""Each write-back connector's `check` against the sandbox: one authenticated read that
proves the credentials (and the list, audience or location named), nothing written."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from hub.errors import FatalError
from hub.sandbox import Sandbox
from hub.sandbox.facebook import AUDIENCE_ID
from hub.sandbox.onetrust import PURPOSES
from hub.sandbox.shopify import LOCATIONS
from hub.writeback import load_writeback

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox(seed=5, scale=50, port=0) as sandbox:
        yield sandbox


def configs(sb: Sandbox, token: str) -> dict[str, dict[str, Any]]:
    common = {"base_url": sb.url, "max_attempts": 2, "backoff_factor": 0.01}
    return {
        "hubspot": {**common, "access_token": token},
        "mailchimp": {
            **common,
            "base_url": f"{sb.url}/3.0",
            "list_id": sb.mailchimp.lists[0]["id"],
            "credentials": {"apikey": token},
        },
        "zendesk": {
            **common,
            "credentials": {"credentials": "api_token", "email": "agent@example.com", "api_token": token},
        },
        "facebook": {**common, "audience_id": AUDIENCE_ID, "access_token": token},
        "shopify": {**common, "access_token": token, "location_id": LOCATIONS[0][1]},
        "onetrust": {
            **common,
            "collection_point_token": token,
            "access_token": token,
            "purposes": {"newsletter": PURPOSES["newsletter"]},
        },
    }


def check(name: str, config: dict[str, Any]) -> str:
    api = load_writeback(ROOT, name, config)
    try:
        return api.check()
    finally:
        api.close()


@pytest.mark.parametrize(
    "name,proves",
    [
        ("hubspot", "reads HubSpot contacts"),
        ("mailchimp", "is there and readable"),
        ("zendesk", "act as an admin"),
        ("facebook", "Crossdock sandbox audience"),
        ("shopify", "reads Shopify's 2 locations"),
        ("onetrust", "reads OneTrust data subjects"),
    ],
)
def test_good_credentials_pass_and_nothing_is_written(sb: Sandbox, name: str, proves: str) -> None:
    before = written(sb)
    assert proves in check(name, configs(sb, "sandbox-token")[name])
    assert written(sb) == before


def written(sb: Sandbox) -> tuple[int, ...]:
    """What each product holds of what it was sent."""
    return (
        len(sb.hubspot.objects("contacts")),
        len(sb.mailchimp.upserts),
        len(sb.zendesk.objects("users")),
        len(sb.facebook.audiences[AUDIENCE_ID]),
        len(sb.shopify.sets),
        len(sb.onetrust.receipts),
    )


@pytest.mark.parametrize("name", ["hubspot", "mailchimp", "zendesk", "facebook", "shopify", "onetrust"])
def test_a_wrong_token_fails_the_check_without_showing_it(sb: Sandbox, name: str) -> None:
    with pytest.raises(FatalError) as err:
        check(name, configs(sb, "not-the-token")[name])
    assert "not-the-token" not in str(err.value)


@pytest.mark.parametrize(
    "name,field,value,says",
    [
        ("mailchimp", "list_id", "nosuchlist", "Mailchimp has no list `nosuchlist`"),
        ("facebook", "audience_id", "999", "does not exist"),
        ("shopify", "location_id", 1, "Shopify has no location 1"),
    ],
)
def test_a_missing_list_audience_or_location_is_named(
    sb: Sandbox, name: str, field: str, value: object, says: str
) -> None:
    with pytest.raises(FatalError, match=says):
        check(name, {**configs(sb, "sandbox-token")[name], field: value})


@respx.mock
def test_zendesk_credentials_of_an_end_user_fail_the_check() -> None:
    respx.get("https://acme.zendesk.com/api/v2/users/me.json").mock(
        return_value=httpx.Response(
            200, json={"user": {"id": 9, "email": "someone@example.org", "role": "end-user"}}
        )
    )
    with pytest.raises(FatalError, match="act as a `end-user`; create_or_update_many needs"):
        check(
            "zendesk",
            {
                "subdomain": "acme",
                "credentials": {
                    "credentials": "api_token",
                    "email": "someone@example.org",
                    "api_token": "tkn",
                },
            },
        )
