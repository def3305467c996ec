"""The CDK's standard source test suite for connectors/facebook, against a live sandbox."""

from __future__ import annotations

from tests.connectors.standard import sandbox_suite

TestFacebookPagesSource = sandbox_suite("facebook")
