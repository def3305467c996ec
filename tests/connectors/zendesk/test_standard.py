"""The CDK's standard source test suite for connectors/zendesk, against a live sandbox."""

from __future__ import annotations

from tests.connectors.standard import sandbox_suite

TestZendeskSource = sandbox_suite("zendesk")
