"""The audit log: what the hub did, append-only (hash chaining comes with the trust work)."""

from hub.audit.log import events, record_event
from hub.audit.models import AuditEvent

__all__ = ["AuditEvent", "record_event", "events"]
