"""The source contract: what the pipeline and the CLI need from any Airbyte source.

The event kinds and `CheckResult` live here, not beside the CDK runner, so that a
source that never touches the CDK (a connector package, the warehouse) does not
import it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final, Protocol

__all__ = ["Source", "SourceEvent", "CheckResult", "RECORD", "STATE", "LOG", "secret_config_values"]

# The kinds of event `Source.read` yields, each with its payload:
# RECORD: the record's data (a dict); STATE: a state message as plain JSON (a dict);
# LOG: a (level, message) pair, level one of WARN / ERROR / FATAL.
RECORD: Final = "record"
STATE: Final = "state"
LOG: Final = "log"
SourceEvent = tuple[str, Any]


@dataclass(frozen=True)
class CheckResult:
    """Whether the connector reached the API with its config, and what it said."""

    ok: bool
    message: str


class Source(Protocol):
    def spec(self) -> dict[str, Any]:
        """The connector's config JSON schema."""

    def check(self) -> CheckResult:
        """Can the connector reach the API with this config? A failure is a result, not raised."""

    def discover(self) -> list[dict[str, Any]]:
        """Streams: name, sync_modes, cursor_field, primary_key, json_schema."""

    def read(self, stream: str, *, incremental: bool, state: dict[str, Any] | None) -> Iterator[SourceEvent]:
        """RECORD / STATE / LOG events of one stream; FatalError when the connector gives up."""

    def secret_values(self) -> list[str]:
        """Config values of fields the spec marks `airbyte_secret` (to redact)."""


def secret_config_values(spec: dict[str, Any], config: dict[str, Any]) -> list[str]:
    """Config values of the fields a connector's spec marks `airbyte_secret`."""
    fields = spec.get("properties") or {}
    return [
        str(config[name])
        for name, field in fields.items()
        if isinstance(field, dict) and field.get("airbyte_secret") and config.get(name)
    ]
