"""Python components for the HubSpot manifest, only where YAML cannot say it."""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from typing import Any

import requests
from airbyte_cdk.sources.declarative.extractors.dpath_extractor import DpathExtractor


class FieldPathExtractor(DpathExtractor):
    """DpathExtractor for a plain path without wildcards, read with dict lookups.

    `dpath.get` walks the whole page to find one top-level key; on 100-record
    pages that walk is about a sixth of the connector's read time.
    """

    def extract_records(self, response: requests.Response) -> Iterable[MutableMapping[Any, Any]]:
        path = [p.eval(self.config) for p in self._field_path]
        if "*" in path:
            yield from super().extract_records(response)
            return
        for body in self.decoder.decode(response):
            node: Any = body
            for key in path:
                node = node.get(key) if isinstance(node, dict) else None
            if isinstance(node, list):
                yield from node
            elif node:
                yield node
