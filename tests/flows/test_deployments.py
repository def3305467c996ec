"""Deployments land on a real Prefect server with the workspace's schedules."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml
from prefect.client.orchestration import get_client

from flows.deployments import apply_deployments
from hub.context import HubContext


@pytest.fixture(scope="module")
def prefect_server():  # type: ignore[no-untyped-def]
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


def test_one_deployment_per_connection_and_one_for_stitching(prefect_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = Path(__file__).resolve().parents[2]
    workspace = yaml.safe_load((root / "crossdock.yaml").read_text())
    workspace["connections"]["crm_hourly"] = {
        "source": {"connector": "hubspot", "config": {}},
        "destination": {"type": "sql", "config": {"url": "sqlite:///wh.db"}},
        "streams": {"contacts": {"mapping": "hubspot/contacts"}},
        "schedule": "15 * * * *",
    }
    (tmp_path / "crossdock.yaml").write_text(yaml.safe_dump(workspace))
    registered = apply_deployments(HubContext(tmp_path), work_pool="crossdock-test")
    # nine connections (two write-backs), the stitch flow, a daily reconcile per sync into SQL
    assert len(registered) == 17
    ids = [d.id for d in registered]

    async def read() -> dict[str, tuple[list[str], dict]]:  # type: ignore[type-arg]
        async with get_client() as client:
            out = {}
            for deployment_id in ids:
                d = await client.read_deployment(deployment_id)
                out[d.name] = ([s.schedule.cron for s in d.schedules], d.parameters)
                assert d.work_pool_name == "crossdock-test", d.name
                assert d.entrypoint in (
                    "flows.sync.sync_connection",
                    "flows.stitch.stitch_profiles",
                    "flows.reconcile.reconcile_connection_flow",
                ), d.entrypoint
            return out

    found = asyncio.run(read())
    assert found["sync-crm"][0] == ["0 3 * * *"]
    assert found["sync-crm_hourly"][0] == ["15 * * * *"]
    assert found["sync-profiles_to_crm"][0] == ["0 4 * * *"]
    assert found["sync-consent"][0] == ["0 3 * * *"]
    assert found["sync-crm_hourly"][1] == {"name": "crm_hourly", "workspace_dir": str(tmp_path)}
    assert found["reconcile-crm"] == (["0 4 * * *"], {"name": "crm", "workspace_dir": str(tmp_path)})
    assert found["reconcile-crm_hourly"][0] == ["0 6 * * *"]  # not daily: the default 06:00
    assert "reconcile-profiles_to_crm" not in found  # a write-back: no warehouse table to compare
    assert found["stitch-profiles"] == (
        ["30 3 * * *"],
        {"mode": "incremental", "workspace_dir": str(tmp_path)},
    )
