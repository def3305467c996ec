"""Reconciliation: prove that each warehouse table equals its source, and repair it.

`reconcile_connection` compares per stream counts, exact key sets (missing, extra) and row
checksums (stale) in the warehouse's engine; docs/reconciliation.md.
"""

from hub.reconcile.report import ConnectionReport, ReconcileStatus, StreamReport
from hub.reconcile.run import reconcile_connection
from hub.reconcile.store import ReconcileRecord, history

__all__ = [
    "reconcile_connection",
    "ConnectionReport",
    "StreamReport",
    "ReconcileStatus",
    "ReconcileRecord",
    "history",
]
