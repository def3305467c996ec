"""What YAML cannot say for Zendesk: one record per ticket comment, out of the audit export.

The ticket events export (`include=comment_events`) returns audits; each audit
holds its comments among other child events (status changes, tags). A comment
record needs the audit's ticket and time beside the comment's own fields.
"""


from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import requests
from airbyte_cdk.sources.declarative.extractors.record_extractor import RecordExtractor


@dataclass
class CommentEventExtractor(RecordExtractor):
    """`ticket_events[*].child_events[event_type=Comment]` -> one record each."""

    def extract_records(self, response: requests.Response) -> Iterable[Mapping[str, Any]]:
        try:
            body = response.json()
        except ValueError:
            return []
        out = []
        for audit in body.get("ticket_events") or []:
            for child in audit.get("child_events") or []:
                if child.get("event_type") == "Comment":
                    out.append({**child, "ticket_id": audit.get("ticket_id"),
                                "created_at": audit.get("created_at")})
        return out
