"""Prefect deployments from crossdock.yaml: one per connection, on its cron schedule,
and the identity stitch flow when `identity.schedule` is set.

`crossdock deploy` registers them with the Prefect server; `crossdock deploy --serve`
also runs them from this process (a worker of one). In production, workers of
the `crossdock` pool run them (docker-compose.yml).
"""

from __future__ import annotations

from uuid import UUID

from prefect.deployments.runner import RunnerDeployment

from flows.stitch import stitch_profiles
from flows.sync import sync_connection
from hub.context import HubContext

__all__ = ["build_deployments", "apply_deployments", "serve_deployments"]


def build_deployments(ctx: HubContext) -> list[RunnerDeployment]:
    ws = ctx.workspace()
    stitch = [] if ws.identity.schedule is None else [stitch_profiles.to_deployment(
        name="stitch-profiles",
        cron=ws.identity.schedule,
        parameters={"mode": "incremental", "workspace_dir": str(ctx.workspace_dir)},
        tags=["crossdock", "identity"],
        description=f"Stitch contact records into profiles on `{ws.identity.schedule}`",
    )]
    return stitch + [
        sync_connection.to_deployment(
            name=f"sync-{conn.name}",
            cron=conn.schedule,
            parameters={"name": conn.name, "workspace_dir": str(ctx.workspace_dir)},
            tags=["crossdock", f"connection:{conn.name}"],
            description=f"Sync connection `{conn.name}` ({conn.source.label} -> "
                        f"{conn.destination.type}) on `{conn.schedule or 'manual'}`",
        )
        for conn in ws.connections.values()
    ]


def apply_deployments(ctx: HubContext) -> list[UUID]:
    return [deployment.apply() for deployment in build_deployments(ctx)]


def serve_deployments(ctx: HubContext) -> None:
    from prefect import serve

    serve(*build_deployments(ctx))
