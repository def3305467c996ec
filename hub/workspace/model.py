"""The workspace file (crossdock.yaml) as validated models."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hub.apigov.config import ApiBudgetsSection
from hub.governance.config import GovernanceConfig
from hub.identity.config import IdentityConfig
from hub.monitoring.config import MonitoringConfig

__all__ = [
    "SourceKind",
    "SourceConfig",
    "DestinationConfig",
    "StreamConfig",
    "Connection",
    "IdentitySection",
    "OrchestrationSection",
    "NotificationsSection",
    "NotifyOn",
    "Workspace",
]

_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
SourceKind = Literal["connector", "manifest", "package", "warehouse"]
_SOURCE_KINDS: tuple[SourceKind, ...] = get_args(SourceKind)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceConfig(_Strict):
    """Exactly one of: one of our connectors, a declarative manifest, a connector package,
    or the warehouse (a SQL url whose tables are read back, for write-back)."""

    connector: str | None = Field(default=None, description="folder name under connectors/")
    manifest: str | None = Field(default=None, description="path to a declarative manifest.yaml")
    package: str | None = Field(
        default=None, description="an Airbyte source package, e.g. airbyte-source-faker"
    )
    warehouse: str | None = Field(default=None, description="a SQL url; each stream is a table read whole")
    config: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _exactly_one(self) -> SourceConfig:
        given = [k for k in _SOURCE_KINDS if getattr(self, k)]
        if len(given) != 1:
            raise ValueError(
                "a source names exactly one of `connector` (ours, under "
                "connectors/), `manifest` (a manifest.yaml path), `package` "
                "(an Airbyte source package) or `warehouse` (a SQL url, for "
                f"write-back); this one has {given or 'none'}"
            )
        if self.warehouse and self.config:
            raise ValueError("a warehouse source takes no `config`; its url is the config")
        return self

    @property
    def kind(self) -> SourceKind:
        return next(k for k in _SOURCE_KINDS if getattr(self, k))

    @property
    def vendor(self) -> str | None:
        """The API a source reads, naming its connectors/<vendor>/api.yaml: our connector's name,
        or a connector package's (`airbyte-source-hubspot==4.2.1` -> `hubspot`)."""
        if self.package:
            name = self.package.partition("==")[0].strip()
            return name.removeprefix("airbyte-source-").removeprefix("source-")
        return self.connector

    @property
    def label(self) -> str:
        """How the source is shown and stored: `hubspot`, `manifest:path`, `package:name`."""
        if self.connector:
            return self.connector
        if self.warehouse:
            return "warehouse"
        return f"manifest:{self.manifest}" if self.manifest else f"package:{self.package}"


class DestinationConfig(_Strict):
    type: str = Field(
        default="sql",
        pattern=_NAME,
        description="sql, or a write-back connector (connectors/<type>/writeback.py)",
    )
    config: dict[str, Any] = Field(default_factory=dict)
    # What the data is for and where it lives (hub/governance, docs/governance.md); required
    # for every connection once the workspace has a `governance:` block.
    purpose: str | None = Field(default=None, description="a purpose of governance.purposes")
    region: str | None = Field(default=None, description="a region of governance.regions")


class StreamConfig(_Strict):
    sync_mode: Literal["incremental", "full_refresh"] = "incremental"
    write_mode: Literal["append", "merge", "overwrite"] = "merge"
    mapping: str = Field(description="mappings/<source>/<stream> without .yaml")
    table: str | None = Field(default=None, pattern=_NAME)
    batch_size: int = Field(default=5000, ge=1, le=1_000_000)


class ReconcileSettings(_Strict):
    """A connection's `reconcile:` block: the daily check's schedule and when it notifies
    (docs/reconciliation.md)."""

    schedule: str | None = Field(
        default=None,
        description="cron of the daily reconcile; default: an hour after a daily sync, else 06:00",
    )
    notify_above: int = Field(
        default=0, ge=0, description="notify when a check finds more differences than this (or fails)"
    )
    content: bool = Field(
        default=False,
        description="compare every row's checksum with a full read of the source, even where the "
        "connector offers a keys-only read (which finds missing and extra rows, and stale ones by "
        "their change time only)",
    )


class Connection(_Strict):
    name: str = Field(pattern=_NAME)
    source: SourceConfig
    destination: DestinationConfig
    streams: dict[str, StreamConfig]
    schedule: str | None = Field(default=None, description="cron, e.g. '0 3 * * *'")
    # Streams synced at once. 1 (one after another, as before) by default: on this project's
    # 2-core bench, four equal streams two at a time were not faster (docs/benchmarks.md);
    # raise it for slow APIs, where the streams mostly wait on the network.
    max_parallel_streams: int = Field(
        default=1, ge=1, le=16, description="streams of this connection synced at the same time"
    )
    # A sync whose API refuses connections (or whose host does not resolve) tries again for
    # this long, then fails the run in one line: seconds, not the connector's minutes of retries.
    unreachable_retry_seconds: float = Field(
        default=10.0, ge=0, le=3600, description="how long a sync waits for an API nothing listens at"
    )

    # Reconcile --repair: what happens to warehouse rows the source no longer has (hard
    # deletes the API never announced): flagged in `_cd_deleted_at` (soft) or deleted (hard).
    deletes: Literal["soft", "hard"] = Field(
        default="soft", description="reconcile --repair: flag (soft) or delete (hard) rows gone at the source"
    )
    reconcile: ReconcileSettings = Field(default_factory=lambda: ReconcileSettings())

    @field_validator("streams")
    @classmethod
    def _at_least_one(cls, v: dict[str, StreamConfig]) -> dict[str, StreamConfig]:
        if not v:
            raise ValueError("a connection needs at least one stream")
        return v

    @property
    def writes_back(self) -> bool:
        """Does this connection send records to a SaaS tool instead of a SQL database?"""
        return self.destination.type != "sql"

    def table_for(self, stream: str) -> str:
        return self.streams[stream].table or f"{self.name}_{stream}"


class IdentitySection(IdentityConfig):
    """crossdock.yaml `identity:`; the profile tables go to `destination`, by default
    the destination of the first connection with a contact stream."""

    destination: DestinationConfig | None = None
    schedule: str | None = Field(default=None, description="cron for the stitch flow, e.g. after the syncs")


class OrchestrationSection(_Strict):
    """crossdock.yaml `orchestration:`: where `crossdock deploy` puts the deployments."""

    work_pool: str = Field(
        default="crossdock",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        description="Prefect work pool (type process) the workers poll",
    )


NotifyOn = Literal["failed", "partial", "abandoned"]
_NOTIFY_ON: tuple[NotifyOn, ...] = get_args(NotifyOn)


class NotificationsSection(_Strict):
    """crossdock.yaml `notifications:`: a run that ends in one of `on` posts to `webhook`
    (hub/notify.py; docs/operations.md). No webhook: nothing is sent."""

    webhook: str | None = Field(
        default=None, description="URL taking a JSON POST, e.g. ${env:CROSSDOCK_WEBHOOK} or ${secret:NAME}"
    )
    on: list[NotifyOn] = Field(default_factory=lambda: list(_NOTIFY_ON))
    attempts: int = Field(default=3, ge=1, le=10, description="tries before the webhook is given up")
    timeout: float = Field(default=10.0, gt=0, le=120, description="seconds per try")

    @model_validator(mode="before")
    @classmethod
    def _yaml_on(cls, data: Any) -> Any:
        # YAML 1.1 reads a bare `on:` key as the boolean true (GitHub Actions has the same trap)
        if isinstance(data, dict) and True in data and "on" not in data:
            data = {("on" if k is True else k): v for k, v in data.items()}
        return data


class Workspace(_Strict):
    path: Path
    version: Literal[1] = 1
    connections: dict[str, Connection]
    identity: IdentitySection = Field(default_factory=IdentitySection)
    orchestration: OrchestrationSection = Field(default_factory=OrchestrationSection)
    notifications: NotificationsSection = Field(default_factory=NotificationsSection)
    governance: GovernanceConfig = Field(default_factory=GovernanceConfig)
    # volume anomaly detection (hub/monitoring; docs/reconciliation.md "Anomalies")
    monitoring: MonitoringConfig = Field(default_factory=MonitoringConfig)
    # egress allowlist and per-account rate budgets (hub/apigov, docs/api-governance.md)
    api_budgets: ApiBudgetsSection = Field(default_factory=ApiBudgetsSection)

    @property
    def root(self) -> Path:
        return self.path.parent

    def connection(self, name: str) -> Connection:
        from hub.errors import ConfigError

        try:
            return self.connections[name]
        except KeyError:
            known = ", ".join(sorted(self.connections)) or "none"
            raise ConfigError(
                f"no connection named `{name}`; connections in this workspace: {known}",
                file=str(self.path),
            ) from None
