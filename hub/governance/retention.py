"""Retention: keep rows N days, per entity or per stream, then delete them.

crossdock.yaml:

    governance:
      retention:
        schedule: "15 2 * * *"              # the daily Prefect deployment (crossdock deploy)
        entities: {email_event: 400}        # every stream mapped to the entity
        streams: {support.tickets: {days: 730, field: created_at}}   # overrides its entity's
        dead_letters: 90                    # the hub store's dead letters, by created_at
        writeback_snapshots: 365            # what write-back last sent, by sent_at

A row's age is its `field` (default: the entity's `occurred_at`, else `updated_at`, else
`created_at`). `run_retention` deletes what is older, counts it per table and audits the
counts (never a value); `dry_run` only counts. A write-back snapshot that expired makes
the next run send that record again (an upsert: no duplicate).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hub.errors import ConfigError

if TYPE_CHECKING:
    from hub.context import HubContext
    from hub.workspace.model import Workspace
    from hub.yaml_lines import LineDict

__all__ = [
    "RetentionConfig",
    "RetentionRule",
    "RetentionSummary",
    "retention_targets",
    "check_retention",
    "run_retention",
]

_AGE_FIELDS = ("occurred_at", "updated_at", "created_at")  # the default, in this order


class RetentionRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    days: int = Field(ge=1, le=36500, description="rows older than this many days are deleted")
    field: str | None = Field(default=None, description="the datetime field that dates a row")

    @model_validator(mode="before")
    @classmethod
    def _days_alone(cls, data: Any) -> Any:
        return {"days": data} if isinstance(data, int) and not isinstance(data, bool) else data


class RetentionConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    schedule: str = Field(default="15 2 * * *", description="cron of the daily retention flow")
    entities: dict[str, RetentionRule] = Field(default_factory=dict)
    streams: dict[str, RetentionRule] = Field(default_factory=dict, description="`connection.stream` keys")
    dead_letters: int | None = Field(default=None, ge=1, le=36500, description="days")
    writeback_snapshots: int | None = Field(default=None, ge=1, le=36500, description="days")

    @property
    def configured(self) -> bool:
        return bool(self.entities or self.streams or self.dead_letters or self.writeback_snapshots)


@dataclass(frozen=True)
class Target:
    """One warehouse table whose rows expire."""

    connection: str
    stream: str
    table: str
    entity: str
    field: str
    days: int


def _age_field(entity_fields: Mapping[str, str], wanted: str | None) -> str | None:
    if wanted is not None:
        return wanted if entity_fields.get(wanted) == "datetime" else None
    return next((f for f in _AGE_FIELDS if entity_fields.get(f) == "datetime"), None)


def retention_targets(ws: Workspace, raw: LineDict | None = None) -> list[Target]:
    """The tables retention deletes from; a rule naming what does not exist is a ConfigError
    naming crossdock.yaml's line (`raw`, when given, is the line-aware document)."""
    from hub.canonical import ENTITIES
    from hub.mapping import load_mapping
    from hub.workspace.locate import mapping_file
    from hub.yaml_lines import line_of

    config, file = ws.governance.retention, str(ws.path)
    base = ("governance", "retention")

    def fail(message: str, *loc: str) -> ConfigError:
        key = (*base, *loc)
        return ConfigError(
            message, file=file, line=line_of(raw, key) if raw is not None else None, key=".".join(key)
        )

    for name, rule in config.entities.items():
        if name not in ENTITIES:
            raise fail(f"unknown entity `{name}`; known: {', '.join(sorted(ENTITIES))}", "entities", name)
        fields = {f.name: f.type for f in ENTITIES[name].fields}
        if _age_field(fields, rule.field) is None:
            raise fail(
                f"entity `{name}` has no datetime field `{rule.field or '/'.join(_AGE_FIELDS)}` to "
                "date its rows by; its datetime fields: "
                f"{', '.join(f for f, t in fields.items() if t == 'datetime')}",
                "entities",
                name,
            )
    entity_of: dict[tuple[str, str], str] = {}
    for cname, conn in ws.connections.items():
        if conn.writes_back:
            continue  # it keeps no table of its own
        for stream, scfg in conn.streams.items():
            path = mapping_file(ws.root, scfg.mapping)
            if path is not None:
                entity_of[(cname, stream)] = load_mapping(path).entity.name
    for key in config.streams:
        cname, _, stream = key.partition(".")
        if (cname, stream) not in entity_of:
            known = ", ".join(f"{c}.{s}" for c, s in sorted(entity_of)) or "none"
            raise fail(
                f"`{key}` is not a stream synced to a warehouse table "
                f"(write `connection.stream`); known: {known}",
                "streams",
                key,
            )
    targets = []
    for (cname, stream), entity in sorted(entity_of.items()):
        found = config.streams.get(f"{cname}.{stream}") or config.entities.get(entity)
        if found is None:
            continue
        rule = found
        fields = {f.name: f.type for f in ENTITIES[entity].fields}
        age = _age_field(fields, rule.field)
        if age is None:
            raise fail(
                f"stream `{cname}.{stream}` maps to `{entity}`, which has no datetime field "
                f"`{rule.field}`; its datetime fields: "
                f"{', '.join(f for f, t in fields.items() if t == 'datetime')}",
                "streams",
                f"{cname}.{stream}",
            )
        table = ws.connections[cname].table_for(stream)
        targets.append(Target(cname, stream, table, entity, age, rule.days))
    return targets


def check_retention(ws: Workspace, raw: LineDict) -> None:
    """At workspace load: every rule names an entity, stream and field that exist."""
    if ws.governance.retention.configured:
        retention_targets(ws, raw)


@dataclass
class RetentionSummary:
    dry_run: bool
    now: str
    deleted: dict[str, int] = field(default_factory=dict)  # "warehouse:<table>", "dead_letters", ...
    total: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_retention(ctx: HubContext, *, dry_run: bool = False, now: datetime | None = None) -> RetentionSummary:
    """Delete (or count, in a dry run) every row past its retention; audited with counts."""
    from sqlalchemy import delete, func, select

    from hub.connections import destination_config
    from hub.destinations import open_destination
    from hub.store.models import DeadLetter
    from hub.writeback.state import WritebackSnapshot

    started = time.perf_counter()
    ws = ctx.workspace()
    config = ws.governance.retention
    now = now or datetime.now(UTC)
    summary = RetentionSummary(dry_run=dry_run, now=now.isoformat())
    for target in retention_targets(ws):
        conn = ws.connections[target.connection]
        dest = open_destination(conn.destination.type, destination_config(ctx, conn))
        try:
            n = dest.delete_where(
                target.table, before=(target.field, now - timedelta(days=target.days)), dry_run=dry_run
            )
        finally:
            dest.close()
        summary.deleted[f"warehouse:{target.table}"] = summary.deleted.get(f"warehouse:{target.table}", 0) + n
    store: list[tuple[str, Any, Any, int | None]] = [
        ("dead_letters", DeadLetter, DeadLetter.created_at, config.dead_letters),
        ("writeback_snapshots", WritebackSnapshot, WritebackSnapshot.sent_at, config.writeback_snapshots),
    ]
    for name, model, column, days in store:
        if days is None:
            continue
        cutoff = now - timedelta(days=days)
        with ctx.engine.begin() as db:
            if dry_run:
                n = int(
                    db.execute(select(func.count()).select_from(model).where(column < cutoff)).scalar() or 0
                )
            else:
                n = int(db.execute(delete(model).where(column < cutoff)).rowcount or 0)
        summary.deleted[name] = n
    summary.total = sum(summary.deleted.values())
    summary.seconds = round(time.perf_counter() - started, 3)
    ctx.audit.append(
        "retention.dry_run" if dry_run else "retention.run",
        target="retention",
        details={"deleted": summary.deleted, "total": summary.total, "now": summary.now},
    )
    return summary
