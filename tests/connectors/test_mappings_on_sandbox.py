"""Every stream of every connector, read from the sandbox, maps without a dead letter.

The mapping files are checked against the records each product really sends
(through the connector), not against hand-written samples."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.mapping import load_mapping
from hub.sandbox import Sandbox
from hub.sandbox.facebook_pages import PAGE_ID
from hub.sources import RECORD, DeclarativeSource
from hub.workspace.loader import connector_streams

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sandbox():  # type: ignore[no-untyped-def]
    with Sandbox(seed=13, scale=200, port=0) as sb:
        yield sb


def configs(url: str) -> dict[str, dict[str, object]]:
    common = {"start_date": "2020-01-01T00:00:00Z", "backoff_factor": 0.1}
    return {
        "hubspot": {"base_url": url, "access_token": "sandbox-token", **common},
        "zendesk": {
            "base_url": url,
            **common,
            "credentials": {
                "credentials": "api_token",
                "email": "agent@example.com",
                "api_token": "sandbox-token",
            },
        },
        "mailchimp": {
            "base_url": f"{url}/3.0",
            **common,
            "credentials": {"auth_type": "apikey", "apikey": "sandbox-token"},
        },
        "shopify": {"base_url": url, "access_token": "sandbox-token", **common},
        "facebook": {"base_url": url, "page_id": PAGE_ID, "access_token": "sandbox-token", **common},
        "onetrust": {"base_url": url, "access_token": "sandbox-token", **common},
    }


@pytest.mark.parametrize("connector", ["hubspot", "zendesk", "mailchimp", "shopify", "facebook", "onetrust"])
def test_every_stream_maps_cleanly(sandbox: Sandbox, connector: str) -> None:
    manifest = ROOT / "connectors" / connector / "manifest.yaml"
    source = DeclarativeSource(manifest, configs(sandbox.url)[connector])
    checked = []
    for stream in connector_streams(manifest):
        mapping_path = ROOT / "mappings" / connector / f"{stream}.yaml"
        assert mapping_path.is_file(), f"{connector}/{stream} has no mapping"
        records = [p for kind, p in source.read(stream, incremental=True, state=None) if kind == RECORD]
        batch = load_mapping(mapping_path).map_batch(records)
        assert records, f"{connector}/{stream}: the sandbox served nothing"
        assert batch.dead == [], f"{connector}/{stream}: {batch.dead[:3]}"
        assert len(batch.rows) + batch.filtered == len(records)
        checked.append(stream)
    assert checked, connector
