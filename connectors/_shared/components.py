"""Python components many connectors' components.py share.

A connector's components.py is run by the CDK from its text (as the module
`source_declarative_manifest.components`), so it imports these by their package
name: `from connectors._shared.components import JsonBodyExtractor`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import requests
from airbyte_cdk.sources.declarative.extractors.record_extractor import RecordExtractor

__all__ = ["JsonBodyExtractor", "json_body"]


def json_body(response: requests.Response) -> Any | None:
    """The page's JSON body; None when it is not JSON (an HTML error page, a cut-off body)."""
    try:
        return response.json()
    except ValueError:
        return None


@dataclass
class JsonBodyExtractor(RecordExtractor):
    """A record extractor that reads the page's JSON body; a page that is not JSON has no records.

    The shared error handler retries such a page before it gets here (its not-JSON
    filter), so none is the right answer, not an error. Subclasses say what records
    a body holds in `records_from`.
    """

    def extract_records(self, response: requests.Response) -> Iterable[Mapping[str, Any]]:
        body = json_body(response)
        if body is None:
            return []
        return self.records_from(body)

    def records_from(self, body: Any) -> Iterable[Mapping[str, Any]]:
        raise NotImplementedError(f"{type(self).__name__} must say which records a page holds")
