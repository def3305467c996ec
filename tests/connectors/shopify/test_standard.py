"""The CDK's standard source test suite for connectors/shopify, against a live sandbox."""

from __future__ import annotations

from tests.connectors.standard import sandbox_suite

TestShopifySource = sandbox_suite("shopify")
