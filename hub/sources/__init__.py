"""Sources: Airbyte-protocol connectors run in process."""

from hub.sources.declarative import CheckResult, DeclarativeSource, dump_state

__all__ = ["DeclarativeSource", "CheckResult", "dump_state"]
