"""Prefect deployments from crossdock.yaml: one per connection, on its cron schedule,
and the identity stitch flow when `identity.schedule` is set.

`crossdock deploy` registers them with the Prefect server (PREFECT_API_URL) in the
work pool named by `orchestration.work_pool` (default `crossdock`, a `process` pool,
created if missing); `prefect worker start --pool crossdock` on any machine with the
project installed runs them. `crossdock deploy --serve` instead runs them from this
process (a worker of one, no pool).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar, cast
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.deployments.runner import EntrypointType, RunnerDeployment
from prefect.exceptions import ObjectNotFound

from flows.reconcile import reconcile_connection_flow
from flows.retention import apply_retention
from flows.stitch import stitch_profiles
from flows.sync import sync_connection
from hub.context import HubContext
from hub.workspace import Connection, Workspace

__all__ = ["Registered", "build_deployments", "apply_deployments", "serve_deployments", "ensure_work_pool"]

_T = TypeVar("_T")


def _sync(result: _T | Coroutine[Any, Any, _T]) -> _T:
    """Prefect's `async_dispatch` methods (`to_deployment`, `apply`) return a coroutine only
    when called inside an event loop; the callers here are synchronous, so it is the value."""
    assert not inspect.iscoroutine(result), "called from an event loop: use the a-prefixed method"
    return cast(_T, result)


@dataclass(frozen=True)
class Registered:
    """One deployment as the server now holds it, for the CLI to say in words."""

    id: UUID
    name: str
    schedule: str | None
    description: str


def build_deployments(ctx: HubContext) -> list[RunnerDeployment]:
    ws = ctx.workspace()
    # Module entrypoints (`flows.sync:sync_connection`): a worker imports the installed
    # project, whatever folder `deploy` was run from.
    module = EntrypointType.MODULE_PATH
    stitch = (
        []
        if ws.identity.schedule is None
        else [
            _sync(
                stitch_profiles.to_deployment(
                    name="stitch-profiles",
                    cron=ws.identity.schedule,
                    parameters={"mode": "incremental", "workspace_dir": str(ctx.workspace_dir)},
                    tags=["crossdock", "identity"],
                    description=f"Stitch contact records into profiles on `{ws.identity.schedule}`",
                    entrypoint_type=module,
                )
            )
        ]
    )
    stitch += _reconcile_deployments(ctx, ws)  # the daily reconciles, listed before the syncs
    return (
        stitch
        + _retention(ctx)
        + [
            _sync(
                sync_connection.to_deployment(
                    name=f"sync-{conn.name}",
                    cron=conn.schedule,
                    parameters={"name": conn.name, "workspace_dir": str(ctx.workspace_dir)},
                    tags=["crossdock", f"connection:{conn.name}"],
                    description=f"Sync connection `{conn.name}` ({conn.source.label} -> "
                    f"{conn.destination.type}) on `{conn.schedule or 'manual'}`",
                    entrypoint_type=module,
                )
            )
            for conn in ws.connections.values()
        ]
    )


def _retention(ctx: HubContext) -> list[RunnerDeployment]:
    """The daily retention flow, when `governance.retention` keeps anything for N days."""
    retention = ctx.workspace().governance.retention
    if not retention.configured:
        return []
    return [
        _sync(
            apply_retention.to_deployment(
                name="apply-retention",
                cron=retention.schedule,
                parameters={"workspace_dir": str(ctx.workspace_dir)},
                tags=["crossdock", "governance"],
                description=f"Delete rows past their retention on `{retention.schedule}`",
                entrypoint_type=EntrypointType.MODULE_PATH,
            )
        )
    ]


def _reconcile_deployments(ctx: HubContext, ws: Workspace) -> list[RunnerDeployment]:
    """A daily reconcile per connection that syncs into a SQL warehouse, after its sync."""
    return [
        _sync(
            reconcile_connection_flow.to_deployment(
                name=f"reconcile-{conn.name}",
                cron=reconcile_cron(conn),
                parameters={"name": conn.name, "workspace_dir": str(ctx.workspace_dir)},
                tags=["crossdock", f"connection:{conn.name}", "reconcile"],
                description=f"Reconcile connection `{conn.name}` with its source daily on "
                f"`{reconcile_cron(conn)}` (after its sync)",
                entrypoint_type=EntrypointType.MODULE_PATH,
            )
        )
        for conn in ws.connections.values()
        if not conn.writes_back  # reconcile compares syncs into a SQL warehouse
    ]


def reconcile_cron(conn: Connection) -> str:
    """The daily reconcile's cron: `reconcile.schedule`, else an hour after a daily sync
    (minute and hour fixed in its cron), else 06:00."""
    if conn.reconcile.schedule:
        return conn.reconcile.schedule
    fields = (conn.schedule or "").split()
    if len(fields) == 5 and fields[0].isdigit() and fields[1].isdigit() and fields[2:] == ["*", "*", "*"]:
        return f"{fields[0]} {(int(fields[1]) + 1) % 24} * * *"
    return "0 6 * * *"


async def ensure_work_pool(name: str) -> bool:
    """Create the `process` work pool `name` unless it exists; True if it was created."""
    async with get_client() as client:
        try:
            await client.read_work_pool(name)
            return False
        except ObjectNotFound:
            await client.create_work_pool(WorkPoolCreate(name=name, type="process"))
            return True


def apply_deployments(ctx: HubContext, work_pool: str | None = None) -> list[Registered]:
    """Register every deployment in `work_pool` (default: the workspace's); the pool is
    created first when missing."""
    pool = work_pool or ctx.workspace().orchestration.work_pool
    asyncio.run(ensure_work_pool(pool))
    registered = []
    for deployment in build_deployments(ctx):
        deployment_id = _sync(deployment.apply(work_pool_name=pool))
        schedules = [s.schedule for s in deployment.schedules or []]
        cron = next((getattr(s, "cron", None) for s in schedules), None)
        registered.append(
            Registered(
                deployment_id, f"{deployment.flow_name}/{deployment.name}", cron, deployment.description or ""
            )
        )
    return registered


def serve_deployments(ctx: HubContext) -> None:
    from prefect import serve

    serve(*build_deployments(ctx))
