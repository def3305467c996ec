"""The CLI's view of the hub context (see hub.context)."""

from hub.context import CliContext, HubContext, current, set_workspace

__all__ = ["CliContext", "HubContext", "current", "set_workspace"]
