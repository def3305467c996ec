"""Every connector uses the shared error policy and the shared body decoding; none keeps a copy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from airbyte_cdk.sources.declarative.parsers.manifest_reference_resolver import (
    ManifestReferenceResolver,
)

from connectors._shared.components import JsonBodyExtractor
from hub.sources._manifest import SHARED_DIR, load_manifest

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = sorted((ROOT / "connectors").glob("*/manifest.yaml"))
SHARED = yaml.safe_load((SHARED_DIR / "error_handler.yaml").read_text())["definitions"]
SHARED_FILTERS = [
    SHARED[ref["$ref"].rsplit("/", 1)[1]] for ref in SHARED["shared_error_handler"]["response_filters"]
]
MESSAGES = {"refused", "rejected", "server_error", "not_json"}


def nodes(node: Any) -> Iterator[Any]:
    yield node
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else []
    for child in children:
        yield from nodes(child)


def error_handlers(node: Any) -> list[Any]:
    return [n["error_handler"] for n in nodes(node) if isinstance(n, dict) and "error_handler" in n]


def test_the_six_connectors_are_found() -> None:
    assert {p.parent.name for p in MANIFESTS} >= {
        "hubspot",
        "zendesk",
        "mailchimp",
        "shopify",
        "facebook",
        "onetrust",
    }


@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda p: p.parent.name)
def test_every_error_handler_is_the_shared_one(manifest: Path) -> None:
    raw = yaml.safe_load(manifest.read_text())
    handlers = error_handlers(raw)
    assert handlers, f"{manifest}: no error_handler"
    for handler in handlers:
        assert handler.get("$ref") == "#/definitions/shared_error_handler", handler
    assert MESSAGES <= set(raw["definitions"].get("error_messages", {})), (
        "the shared handler reads definitions.error_messages.{refused,rejected,server_error,not_json}"
    )


@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda p: p.parent.name)
def test_no_manifest_keeps_a_private_copy_of_the_policy(manifest: Path) -> None:
    raw = yaml.safe_load(manifest.read_text())
    assert not set(raw["definitions"]) & set(SHARED), "shared names are defined once, in _shared/"
    shared_codes = {c for f in SHARED_FILTERS for c in f.get("http_codes", [])}
    shared_predicates = {f["predicate"] for f in SHARED_FILTERS if "predicate" in f}
    for node in nodes(raw):
        if not isinstance(node, dict):
            continue
        kind = node.get("type") if isinstance(node.get("type"), str) else None  # not a schema's
        assert kind not in {"DefaultErrorHandler", "CompositeErrorHandler"}, node
        if kind == "WaitTimeFromHeader":
            assert node.get("header") != "Retry-After", "use #/definitions/shared_retry_after"
        if kind == "HttpResponseFilter":
            # A connector's own filter says what the shared ones do not (Facebook's body codes).
            assert not set(node.get("http_codes", [])) & shared_codes, node
            assert node.get("predicate") not in shared_predicates, node


@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda p: p.parent.name)
def test_the_resolved_policy_keeps_every_shared_filter_in_order(manifest: Path) -> None:
    resolved = ManifestReferenceResolver().preprocess_manifest(load_manifest(manifest))
    resolved.pop("definitions")
    for handler in error_handlers(resolved):
        assert handler["type"] == "DefaultErrorHandler"
        assert handler["max_retries"] == SHARED["shared_error_handler"]["max_retries"]
        assert handler["backoff_strategies"][0] == SHARED["shared_retry_after"]
        filters = iter(handler["response_filters"])
        for shared in SHARED_FILTERS:
            # a connector may widen a shared filter's codes (Shopify's 422), never drop one
            found = next(
                (
                    f
                    for f in filters
                    if f["action"] == shared["action"]
                    and f["failure_type"] == shared["failure_type"]
                    and f.get("predicate") == shared.get("predicate")
                    and set(shared.get("http_codes", [])) <= set(f.get("http_codes", []))
                ),
                None,
            )
            assert found, f"{manifest.parent.name}: {shared} missing or out of order"
            assert found["error_message"] and not found["error_message"].startswith("#/")


def response(body: bytes) -> requests.Response:
    r = requests.Response()
    r.status_code, r._content = 200, body  # a response without a server
    return r


class _Items(JsonBodyExtractor):
    def records_from(self, body: Any) -> list[dict[str, Any]]:
        return list(body["items"])


@pytest.mark.parametrize(
    ("body", "records"),
    [
        (b'{"items": [{"id": 1}]}', [{"id": 1}]),
        (b"<html>502 Bad Gateway</html>", []),
        (b'{"items": [{"id": 1}', []),  # cut off
    ],
)
def test_the_shared_extractor_reads_json_and_skips_a_page_that_is_not(
    body: bytes, records: list[Any]
) -> None:
    assert list(_Items().extract_records(response(body))) == records


@pytest.mark.parametrize(
    "components",
    [p.parent / "components.py" for p in MANIFESTS if (p.parent / "components.py").is_file()],
    ids=lambda p: p.parent.name,
)
def test_components_decode_bodies_through_the_shared_helper(components: Path) -> None:
    assert "response.json()" not in components.read_text(), (
        "decode with connectors._shared.components (JsonBodyExtractor or json_body)"
    )
