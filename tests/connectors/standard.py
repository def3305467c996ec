"""The CDK's standard source test suite for one of our connectors, against a live sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from airbyte_cdk.test.models import ConnectorTestScenario
from airbyte_cdk.test.standard_tests import DeclarativeSourceTestSuite

from hub.sandbox import Sandbox

CONNECTORS = Path(__file__).resolve().parents[2] / "connectors"


def sandbox_suite(connector: str, base_path: str = "") -> type[DeclarativeSourceTestSuite]:
    """A suite class for connectors/<connector>; its configs' base_url is the sandbox + base_path."""
    root = CONNECTORS / connector
    # Bound now (collection time) so scenarios can name its port; served by the fixture below.
    sandbox = Sandbox(seed=11, scale=400, port=0)

    class Suite(DeclarativeSourceTestSuite):
        @pytest.fixture(scope="class", autouse=True)
        def _serve_sandbox(self) -> Iterator[None]:
            sandbox.start()
            yield
            sandbox.stop()

        @pytest.fixture
        def read_from_streams(self) -> str:
            return "default"  # read every stream (the suite's default is to read none)

        @classmethod
        def get_connector_root_dir(cls) -> Path:
            return root

        @classmethod
        def get_scenarios(cls) -> list[ConnectorTestScenario]:
            scenarios = []
            for scenario in super().get_scenarios():
                config = scenario.get_config_dict(connector_root=root, empty_if_missing=False)
                scenarios.append(scenario.model_copy(
                    update={"config_dict": {**config, "base_url": sandbox.url + base_path}}))
            return scenarios

    return Suite
