"""Importing the flows as a library (a worker, a bench, a user's script) switches Prefect's
analytics off, whichever was imported first, even if the environment said otherwise."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = """
from prefect._internal.analytics.enabled import is_telemetry_enabled
from prefect.settings import Settings
print(is_telemetry_enabled(), Settings().server.analytics_enabled)
"""


@pytest.mark.parametrize("imports", ["import flows", "import prefect; import flows.sync", "import hub.cli"])
def test_flows_turn_prefect_analytics_off(imports: str) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DO_NOT_TRACK", "CI") and not k.startswith(("PREFECT_", "GITHUB_"))
    }
    env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "true"  # what a careless environment might say
    # Without the hub's import, Prefect would send events here:
    baseline = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    assert baseline.stdout.split() == ["True", "True"]
    probe = subprocess.run(
        [sys.executable, "-c", f"{imports}\n{PROBE}"], env=env, capture_output=True, text=True, check=True
    )
    assert probe.stdout.split() == ["False", "False"]
