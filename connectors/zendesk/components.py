"""What YAML cannot say for Zendesk: one record per ticket comment, out of the audit export.

The ticket events export (`include=comment_events`) returns audits; each audit
holds its comments among other child events (status changes, tags). A comment
record needs the audit's ticket and time beside the comment's own fields.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from airbyte_cdk.models import FailureType
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from connectors._shared.components import JsonBodyExtractor


@dataclass
class CommentEventExtractor(JsonBodyExtractor):
    """`ticket_events[*].child_events[event_type=Comment]` -> one record each."""

    def records_from(self, body: Any) -> Iterable[Mapping[str, Any]]:
        events = body.get("ticket_events") or []
        stamps = {e.get("timestamp") for e in events}
        if (
            not body.get("end_of_stream")
            and len(events) >= 1000
            and len(stamps) == 1
            and body.get("end_time") in stamps
        ):
            # The next page would start where this one did: a time-based export cannot
            # page past 1000 items with one timestamp, and would loop forever.
            raise AirbyteTracedException(
                message=f"Zendesk's ticket events export is stuck: {len(events)} events share "
                f"the timestamp {body.get('end_time')}, and a time-based export cannot "
                "page past them; nothing after it can be read",
                failure_type=FailureType.system_error,
            )
        out = []
        for audit in events:
            for child in audit.get("child_events") or []:
                if child.get("event_type") == "Comment":
                    out.append(
                        {**child, "ticket_id": audit.get("ticket_id"), "created_at": audit.get("created_at")}
                    )
        return out
