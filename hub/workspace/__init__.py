"""The workspace (crossdock.yaml): connections, streams, mappings, schedules."""

from hub.workspace.loader import connector_streams, load_workspace
from hub.workspace.locate import connector_dir, known_connectors, manifest_path, mapping_file
from hub.workspace.model import (
    Connection,
    DestinationConfig,
    SourceConfig,
    SourceKind,
    StreamConfig,
    Workspace,
)
from hub.workspace.resolve import resolve_config, resolve_sqlite_url

__all__ = [
    "load_workspace",
    "connector_streams",
    "connector_dir",
    "known_connectors",
    "mapping_file",
    "manifest_path",
    "Workspace",
    "Connection",
    "SourceConfig",
    "SourceKind",
    "DestinationConfig",
    "StreamConfig",
    "resolve_config",
    "resolve_sqlite_url",
]
