"""The CDK's standard source test suite for connectors/hubspot, against a live sandbox."""

from __future__ import annotations

from tests.connectors.standard import sandbox_suite

TestHubSpotSource = sandbox_suite("hubspot")
