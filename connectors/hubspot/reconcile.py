"""What reconcile (hub/reconcile) may read from HubSpot more cheaply than a sync does.

- `KEYS_READ`: per stream, the manifest `$parameters` of a keys-only read: the same list
  endpoint, paging and error handling as the full read, asking `properties=hs_object_id`.
  HubSpot still returns each record's `id`, `createdAt`, `updatedAt` and `archived` (and
  `createdate`, `lastmodifieddate`, `hs_object_id`): what the mapping's key, its
  `updated_at` and its `archived` filter read.
- `fetch_by_key`: given records, by id (`RECORD_ID`), through POST /crm/v3/objects/{type}/batch/read
  (100 ids a request), with the properties the stream's full read asks; an id HubSpot no
  longer has is left out of the answer (207 with `errors`), as the list leaves it out.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from hub.errors import FatalError
from hub.writeback.http import ApiClient

__all__ = ["KEYS_READ", "BY_KEY", "RECORD_ID", "open_client", "fetch_by_key"]

BY_KEY = ("contacts", "companies", "deals")  # the streams `fetch_by_key` reads (not owners)
RECORD_ID = "id"  # the record path `fetch_by_key` takes ids of

KEYS_READ: dict[str, dict[str, str]] = {
    stream: {"properties": "hs_object_id"} for stream in ("contacts", "companies", "deals")
}
_BATCH = 100  # HubSpot's batch read limit


def open_client(config: Mapping[str, Any]) -> ApiClient:
    """A client with the source connection's base URL and token (the hub governs it)."""
    return ApiClient(
        str(config.get("base_url") or "https://api.hubapi.com"),
        product="HubSpot",
        headers={"Authorization": f"Bearer {config['access_token']}"},
        backoff=float(config.get("backoff_factor", 0.5)),
    )


def fetch_by_key(
    client: ApiClient, stream: str, parameters: Mapping[str, Any], ids: Sequence[str]
) -> Iterator[dict[str, Any]]:
    """The records of `ids` as the list endpoint returns them (archived ones left out)."""
    object_type = parameters["object_type"]
    properties = str(parameters.get("properties") or "").split(",")
    for start in range(0, len(ids), _BATCH):
        body = {
            "properties": [p for p in properties if p],
            "idProperty": "hs_object_id",
            "inputs": [{"id": i} for i in ids[start : start + _BATCH]],
        }
        resp = client.request("POST", f"/crm/v3/objects/{object_type}/batch/read", json=body)
        if resp.status not in (200, 207):
            raise FatalError(
                f"HubSpot answered HTTP {resp.status} to a batch read of {object_type}: {resp.body}"
            )
        for record in (resp.body or {}).get("results") or []:
            if not record.get("archived"):
                yield record
