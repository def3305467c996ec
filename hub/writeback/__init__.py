"""Write-back (reverse ETL): warehouse rows sent to the SaaS tools marketing runs.

A write-back connection reads a warehouse table (`source: {warehouse: URL}`),
maps each row to a canonical entity, and hands the rows to a destination
connector that lives beside its source (`connectors/<name>/writeback.py`).
This package holds what every such connector shares: the diff against what
was last sent, batching, per-record results, dry runs and the HTTP client.
"""

from hub.writeback.api import BatchRefused, Change, Held, Outcome, WritebackApi
from hub.writeback.base import WritebackBase
from hub.writeback.config import ConfigSection, WritebackConfig, missing_key
from hub.writeback.destination import WritebackDestination
from hub.writeback.erasure import ErasureOutcome, ErasureSubject, tally
from hub.writeback.http import ApiClient, ApiResponse
from hub.writeback.registry import check_writeback_config, load_writeback, writeback_class

__all__ = [
    "ApiClient",
    "ApiResponse",
    "BatchRefused",
    "Change",
    "ConfigSection",
    "ErasureOutcome",
    "ErasureSubject",
    "Held",
    "Outcome",
    "WritebackApi",
    "WritebackBase",
    "WritebackConfig",
    "WritebackDestination",
    "check_writeback_config",
    "load_writeback",
    "missing_key",
    "tally",
    "writeback_class",
]
