"""The CDK's standard source test suite for connectors/mailchimp, against a live sandbox."""

from __future__ import annotations

from tests.connectors.standard import sandbox_suite

TestMailchimpSource = sandbox_suite("mailchimp", base_path="/3.0")
