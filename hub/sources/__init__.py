"""Sources: Airbyte-protocol connectors, read as a stream of events.

`DeclarativeSource` and `dump_state` load the airbyte-cdk (about a second of
imports), so they are imported on first use: a connector package or the
warehouse as a source never pays for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hub.sources.package import PackageSource
from hub.sources.source import LOG, RECORD, STATE, CheckResult, Source, SourceEvent

if TYPE_CHECKING:
    from hub.sources.declarative import DeclarativeSource, dump_state

__all__ = [
    "Source",
    "DeclarativeSource",
    "PackageSource",
    "CheckResult",
    "dump_state",
    "SourceEvent",
    "RECORD",
    "STATE",
    "LOG",
]

_CDK_NAMES = ("DeclarativeSource", "dump_state")


def __getattr__(name: str) -> Any:
    if name in _CDK_NAMES:
        from hub.sources import declarative

        return getattr(declarative, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
