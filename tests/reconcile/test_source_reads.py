"""Which cheaper reads reconcile takes from a connector: HubSpot's keys-only read and fetch by
key where its reconcile.py declares them and the mapping's key is the record id; otherwise
none, and reconcile reads the stream whole (the end-to-end proofs are in
test_reconcile_sandbox.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.errors import ConfigError
from hub.mapping import load_mapping
from hub.reconcile.source_reads import reads_for, with_stream_parameters
from hub.sources.declarative import DeclarativeSource

ROOT = Path(__file__).resolve().parents[2]
CONFIG = {"access_token": "t", "base_url": "http://127.0.0.1:9"}  # never called here


def source(connector: str) -> DeclarativeSource:
    return DeclarativeSource(ROOT / "connectors" / connector / "manifest.yaml", CONFIG, in_child=False)


def test_hubspot_contacts_offer_a_keys_read_and_fetch_by_key() -> None:
    reads = reads_for(source("hubspot"), "contacts", load_mapping(ROOT / "mappings/hubspot/contacts.yaml"))
    try:
        assert isinstance(reads.keys, DeclarativeSource) and reads.fetch is not None
        (contacts,) = [s for s in reads.keys.manifest["streams"] if s["name"] == "contacts"]
        assert contacts["full_refresh_stream"]["$parameters"]["properties"] == "hs_object_id"
        assert reads.id_at == 1  # key (source, source_id): the id is the second part
    finally:
        reads.close()
    full = source("hubspot").manifest  # the connector's own manifest is left as it was
    (contacts,) = [s for s in full["streams"] if s["name"] == "contacts"]
    assert contacts["full_refresh_stream"]["$parameters"]["properties"].startswith("email,")


def test_no_declaration_no_id_key_or_another_stream_means_the_full_read(tmp_path: Path) -> None:
    zendesk = reads_for(source("zendesk"), "users", load_mapping(ROOT / "mappings/zendesk/users.yaml"))
    assert (zendesk.keys, zendesk.fetch) == (None, None)  # no reconcile.py
    owners = reads_for(source("hubspot"), "owners", load_mapping(ROOT / "mappings/hubspot/owners.yaml"))
    assert (owners.keys, owners.fetch) == (None, None)  # declared for contacts, companies, deals
    # a key that is not the record id copied unchanged cannot be turned into ids to fetch
    text = (ROOT / "mappings/hubspot/contacts.yaml").read_text()
    mapped = tmp_path / "contacts.yaml"
    mapped.write_text(text.replace("source_id: {path: id}", "source_id: {path: id, apply: [trim]}"))
    reads = reads_for(source("hubspot"), "contacts", load_mapping(mapped))
    assert reads.keys is not None and reads.fetch is None
    # a filter on a property the keys read leaves out would drop every row: the full read then
    mapped.write_text(
        text.replace("- {path: archived, not_equals: true}", "- {path: properties.email, exists: true}")
    )
    assert reads_for(source("hubspot"), "contacts", load_mapping(mapped)).keys is None


def test_a_keys_read_for_a_stream_the_manifest_lacks_names_the_file() -> None:
    with pytest.raises(ConfigError, match="the manifest does not have"):
        with_stream_parameters({"streams": []}, "nope", {"properties": "x"}, Path("reconcile.py"))
