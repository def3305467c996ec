"""The hub's own metadata store (sqlmodel)."""

from hub.store.engine import default_store_url, get_engine
from hub.store.models import ConnectionRecord, DeadLetter, RunLease, StreamRun, StreamState, SyncRun
from hub.store.schema import create_db_and_tables

__all__ = [
    "get_engine",
    "create_db_and_tables",
    "default_store_url",
    "ConnectionRecord",
    "SyncRun",
    "StreamRun",
    "StreamState",
    "DeadLetter",
    "RunLease",
]
