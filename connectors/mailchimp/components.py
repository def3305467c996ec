"""What YAML cannot say for Mailchimp: one record per email activity, and paging that allows it.

The email-activity report nests each address's actions in an `activity` list;
a timeline wants one event per action, each with the address it belongs to.
"""

from collections.abc import Iterable, Mapping
from dataclasses import InitVar, dataclass
from typing import Any

import requests
from airbyte_cdk.sources.declarative.requesters.paginators.strategies.pagination_strategy import (
    PaginationStrategy,
)

from connectors._shared.components import JsonBodyExtractor, json_body


@dataclass
class EmailActivityExtractor(JsonBodyExtractor):
    """`emails[*].activity[*]` -> one record each, with the email's fields beside the action's."""

    def records_from(self, body: Any) -> Iterable[Mapping[str, Any]]:
        out = []
        for email in body.get("emails") or []:
            base = {k: v for k, v in email.items() if k != "activity"}
            out.extend({**base, **action} for action in email.get("activity") or [])
        return out


@dataclass
class ItemOffset(PaginationStrategy):
    """Offset paging that counts the page's items (not the records made of them) up to total_items.

    The CDK's OffsetIncrement advances by records read; email activity makes
    several records of one item, so it would skip items."""

    parameters: InitVar[Mapping[str, Any]]
    config: Mapping[str, Any]
    items_field: str = ""
    page_size: int | str | None = None

    def __post_init__(self, parameters: Mapping[str, Any]) -> None:
        self._items = self.items_field or parameters.get("items", "")
        size = self.page_size if self.page_size is not None else self.config.get("page_size", 1000)
        self._page_size = int(size)

    @property
    def initial_token(self) -> Any | None:
        return None

    def next_page_token(
        self,
        response: requests.Response,
        last_page_size: int,
        last_record: Any | None,
        last_page_token_value: Any | None,
        page_size_override: int | None = None,
        stream_slice: Any | None = None,
    ) -> Any | None:
        body = json_body(response)
        if body is None:
            return None
        items = body.get(self._items) or []
        offset = int(last_page_token_value or 0) + len(items)
        if not items or offset >= int(body.get("total_items") or 0):
            return None
        return offset

    def get_page_size(self) -> int | None:
        return self._page_size
