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

__all__ = ["DeclarativeSource", "CheckResult", "dump_state", "SourceEvent", "RECORD", "STATE",
           "LOG"]
