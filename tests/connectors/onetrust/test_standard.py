"""The CDK's standard source test suite for connectors/onetrust, against a live sandbox."""

from __future__ import annotations

from tests.connectors.standard import sandbox_suite

TestOneTrustSource = sandbox_suite("onetrust")
