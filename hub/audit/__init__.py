"""The audit log: append-only, hash-chained and keyed, its head anchored outside the store,
so tampering, deletion and truncation are found."""

from hub.audit.chain import AuditIntegrityError, VerifyReport, verify_entries
from hub.audit.head import Head, HeadFile
from hub.audit.log import ACKNOWLEDGE_HOWTO, AuditLog
from hub.audit.models import AuditEvent

__all__ = [
    "ACKNOWLEDGE_HOWTO",
    "AuditEvent",
    "AuditIntegrityError",
    "AuditLog",
    "Head",
    "HeadFile",
    "VerifyReport",
    "verify_entries",
]
