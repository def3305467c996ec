"""The workspace file (crossdock.yaml) as validated models."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["SourceConfig", "DestinationConfig", "StreamConfig", "Connection", "Workspace"]

_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceConfig(_Strict):
    connector: str = Field(description="folder name under connectors/")
    config: dict[str, Any] = Field(default_factory=dict)


class DestinationConfig(_Strict):
    type: Literal["sql"] = "sql"
    config: dict[str, Any] = Field(default_factory=dict)


class StreamConfig(_Strict):
    sync_mode: Literal["incremental", "full_refresh"] = "incremental"
    write_mode: Literal["append", "merge", "overwrite"] = "merge"
    mapping: str = Field(description="mappings/<source>/<stream> without .yaml")
    table: str | None = Field(default=None, pattern=_NAME)
    batch_size: int = Field(default=5000, ge=1, le=1_000_000)


class Connection(_Strict):
    name: str = Field(pattern=_NAME)
    source: SourceConfig
    destination: DestinationConfig
    streams: dict[str, StreamConfig]
    schedule: str | None = Field(default=None, description="cron, e.g. '0 3 * * *'")

    @field_validator("streams")
    @classmethod
    def _at_least_one(cls, v: dict[str, StreamConfig]) -> dict[str, StreamConfig]:
        if not v:
            raise ValueError("a connection needs at least one stream")
        return v

    def table_for(self, stream: str) -> str:
        return self.streams[stream].table or f"{self.name}_{stream}"


class Workspace(_Strict):
    path: Path
    version: Literal[1] = 1
    connections: dict[str, Connection]

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
