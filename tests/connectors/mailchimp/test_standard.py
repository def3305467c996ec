"""The CDK's standard source test suite for connectors/mailchimp, against a live sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from airbyte_cdk.test.models import ConnectorTestScenario
from airbyte_cdk.test.standard_tests import DeclarativeSourceTestSuite

from hub.sandbox import Sandbox

CONNECTOR = Path(__file__).resolve().parents[3] / "connectors" / "mailchimp"

# Bound now (collection time) so scenarios can name its port; served by the fixture below.
SANDBOX = Sandbox(seed=11, scale=400, port=0)


@pytest.fixture(scope="module", autouse=True)
def _serve_sandbox() -> Iterator[None]:
    SANDBOX.start()
    yield
    SANDBOX.stop()


class TestMailchimpSource(DeclarativeSourceTestSuite):
    @pytest.fixture
    def read_from_streams(self) -> str:
        return "default"  # read every stream (the suite's default is to read none)

    @classmethod
    def get_connector_root_dir(cls) -> Path:
        return CONNECTOR

    @classmethod
    def get_scenarios(cls) -> list[ConnectorTestScenario]:
        scenarios = []
        for scenario in super().get_scenarios():
            config = scenario.get_config_dict(connector_root=CONNECTOR, empty_if_missing=False)
            scenarios.append(scenario.model_copy(
                update={"config_dict": {**config, "base_url": SANDBOX.url + "/3.0"}}))
        return scenarios
