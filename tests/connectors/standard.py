"""The CDK's standard source test suite for one of our connectors, against a live sandbox."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from airbyte_cdk.sources.declarative.concurrent_declarative_source import ConcurrentDeclarativeSource
from airbyte_cdk.sources.declarative.parsers.custom_code_compiler import (
    ENV_VAR_ALLOW_CUSTOM_CODE,
    INJECTED_COMPONENTS_PY,
    INJECTED_COMPONENTS_PY_CHECKSUMS,
)
from airbyte_cdk.test.models import ConnectorTestScenario
from airbyte_cdk.test.standard_tests import DeclarativeSourceTestSuite

from hub.sandbox import Sandbox
from hub.sources._manifest import load_manifest

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
        def create_connector(cls, scenario: ConnectorTestScenario | None) -> Any:
            # The suite's own create_connector (the same, otherwise) reads manifest.yaml with
            # yaml.safe_load; ours reference connectors/_shared/, which the hub's loader inlines.
            manifest = load_manifest(root / "manifest.yaml")
            config: dict[str, Any] = {"__injected_manifest": manifest}
            config.update(
                (scenario or ConnectorTestScenario()).get_config_dict(
                    empty_if_missing=True, connector_root=root
                )
            )
            components = root / "components.py"
            if components.is_file():
                text = components.read_text(encoding="utf-8")
                os.environ[ENV_VAR_ALLOW_CUSTOM_CODE] = "true"
                config[INJECTED_COMPONENTS_PY] = text
                # md5: the checksum the CDK expects for injected components, not security
                config[INJECTED_COMPONENTS_PY_CHECKSUMS] = {"md5": hashlib.md5(text.encode()).hexdigest()}
            return ConcurrentDeclarativeSource(
                config=config, catalog=None, state=None, source_config=manifest
            )

        @classmethod
        def get_scenarios(cls) -> list[ConnectorTestScenario]:
            scenarios = []
            for scenario in super().get_scenarios():
                config = scenario.get_config_dict(connector_root=root, empty_if_missing=False)
                scenarios.append(
                    scenario.model_copy(
                        update={"config_dict": {**config, "base_url": sandbox.url + base_path}}
                    )
                )
            return scenarios

    return Suite
