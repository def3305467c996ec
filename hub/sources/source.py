"""The source protocol: what the pipeline and the CLI need from any Airbyte source."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from hub.sources._child import SourceEvent

__all__ = ["Source", "secret_config_values"]


class Source(Protocol):
    def spec(self) -> dict[str, Any]:
        """The connector's config JSON schema."""

    def check(self) -> Any:
        """A CheckResult: can the connector reach the API with this config?"""

    def discover(self) -> list[dict[str, Any]]:
        """Streams: name, sync_modes, cursor_field, primary_key, json_schema."""

    def read(self, stream: str, *, incremental: bool,
             state: dict[str, Any] | None) -> Iterator[SourceEvent]:
        """RECORD / STATE / LOG events of one stream; FatalError when the connector gives up."""

    def secret_values(self) -> list[str]:
        """Config values of fields the spec marks `airbyte_secret` (to redact)."""


def secret_config_values(spec: dict[str, Any], config: dict[str, Any]) -> list[str]:
    """Config values of the fields a connector's spec marks `airbyte_secret`."""
    fields = spec.get("properties") or {}
    return [str(config[name]) for name, field in fields.items()
            if isinstance(field, dict) and field.get("airbyte_secret") and config.get(name)]
