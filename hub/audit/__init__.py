"""The audit log: append-only, hash-chained and keyed, so tampering is found."""

from hub.audit.chain import VerifyReport, verify_entries
from hub.audit.log import AuditLog
from hub.audit.models import AuditEvent

__all__ = ["AuditEvent", "AuditLog", "VerifyReport", "verify_entries"]
