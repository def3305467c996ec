"""Sources: Airbyte-protocol connectors, read as a stream of events."""

from hub.sources.declarative import (
    LOG,
    RECORD,
    STATE,
    CheckResult,
    DeclarativeSource,
    SourceEvent,
    dump_state,
)
from hub.sources.package import PackageSource
from hub.sources.source import Source

__all__ = ["Source", "DeclarativeSource", "PackageSource", "CheckResult", "dump_state",
           "SourceEvent", "RECORD", "STATE", "LOG"]
