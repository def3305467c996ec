"""The cheaper reads a connector may offer reconcile, declared in `reconcile.py` beside its
manifest (connectors/hubspot/reconcile.py is the example):

- `KEYS_READ = {stream: {parameter: value}}`: the stream's `$parameters` for a keys-only read
  (e.g. HubSpot `properties=hs_object_id`): the same endpoint, paging and error handling as
  the full read, through the same API gate, returning what the mapping's key, its
  `updated_at` and its filters read. Without it, or when the mapping filters on a nested
  path (a property the keys read leaves out), reconcile reads the stream whole.
- `open_client(config)`, `fetch_by_key(client, stream, parameters, ids)`, `BY_KEY` (the streams
  it reads) and `RECORD_ID` (the record path of those ids): the records of given ids (e.g.
  HubSpot batch read), so a repair re-reads exactly the keys it wants. Used when the mapping's
  key is that path copied unchanged plus constants (`source: {const: hubspot}`,
  `source_id: {path: id}`).
  Without them, a repair re-reads the stream and writes the wanted keys.
"""

from __future__ import annotations

import copy
import importlib.util
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from hub.errors import ConfigError
from hub.mapping import CompiledMapping
from hub.sources import Source

__all__ = ["ReconcileReads", "reads_for"]

Fetch = Callable[[Sequence[str]], Iterator[dict[str, Any]]]


@dataclass
class ReconcileReads:
    """What the connector offers for one stream (None: not offered, the full read stands in)."""

    keys: Source | None = None  # the stream's keys-only read
    fetch: Fetch | None = None  # records by id
    id_at: int = 0  # where the record id is in the mapping's key
    _close: Callable[[], None] | None = None

    def fetch_keys(self, keys: Sequence[tuple[Any, ...]]) -> Iterator[dict[str, Any]]:
        """The source records of these mapping keys (those the source still has)."""
        assert self.fetch is not None, "fetch_keys without a fetch_by_key"
        return self.fetch([str(k[self.id_at]) for k in keys])

    def close(self) -> None:
        if self._close is not None:
            self._close()


def reads_for(source: Source, stream: str, mapping: CompiledMapping) -> ReconcileReads:
    """The connector's reconcile reads for `stream`, built on `source` (its config and gate)."""
    from hub.sources.declarative import DeclarativeSource

    if not isinstance(source, DeclarativeSource):
        return ReconcileReads()  # a package or the warehouse: nothing declared
    module = _module(source.manifest_path.parent / "reconcile.py")
    if module is None:
        return ReconcileReads()
    out = ReconcileReads()
    params = (getattr(module, "KEYS_READ", None) or {}).get(stream)
    # A keys read returns the record's top level (HubSpot: id, updatedAt, archived); a filter
    # on a nested path (a property) would see it empty and drop the row: the full read then.
    if params and not any("." in path for path in mapping.filter_paths):
        keys = copy.copy(source)  # the same config, gate and child-process setting
        keys.manifest = with_stream_parameters(source.manifest, stream, params, source.manifest_path)
        out.keys = keys
    fetch, open_client = getattr(module, "fetch_by_key", None), getattr(module, "open_client", None)
    id_at = _record_id_in_key(mapping, getattr(module, "RECORD_ID", None))
    by_key = stream in (getattr(module, "BY_KEY", None) or ())
    if fetch is not None and open_client is not None and by_key and id_at is not None:
        client = open_client(source.config)
        if source.gate is not None:
            client.govern(source.gate)
        parameters = stream_parameters(source.manifest, stream)
        out.fetch = lambda ids: fetch(client, stream, parameters, ids)
        out.id_at, out._close = id_at, client.close
    return out


def _record_id_in_key(mapping: CompiledMapping, record_id: str | None) -> int | None:
    """The index of the key field copied from the record id, when every other key field is
    a constant; else None (the key cannot be turned into ids)."""
    if not record_id:
        return None
    sources = mapping.sources
    at = [i for i, k in enumerate(mapping.key) if sources.get(k) == record_id]
    others = [k for i, k in enumerate(mapping.key) if i not in at]
    constant = all(k in sources and sources[k] is None for k in others)
    return at[0] if len(at) == 1 and constant else None


def stream_parameters(manifest: dict[str, Any], stream: str) -> dict[str, Any]:
    """The `$parameters` the stream's full read runs with."""
    entry = _stream(manifest, stream)
    full = entry.get("full_refresh_stream")
    return {**(entry.get("$parameters") or {}), **((full or {}).get("$parameters") or {})}


def with_stream_parameters(
    manifest: dict[str, Any], stream: str, params: dict[str, Any], file: Path
) -> dict[str, Any]:
    """A copy of `manifest` whose stream `stream` (and its full and incremental variants) runs
    with `params` among its `$parameters`."""
    out = copy.deepcopy(manifest)
    entry = _stream(out, stream, file)
    for part in (entry, entry.get("full_refresh_stream"), entry.get("incremental_stream")):
        if isinstance(part, dict):
            part["$parameters"] = {**(part.get("$parameters") or {}), **params}
    return out


def _stream(manifest: dict[str, Any], stream: str, file: Path | None = None) -> dict[str, Any]:
    for entry in manifest.get("streams") or []:
        if isinstance(entry, dict) and entry.get("name") == stream:
            return entry
    raise ConfigError(
        f"reconcile.py declares a keys read for stream `{stream}`, which the manifest does not have",
        file=str(file) if file else None,
    )


def _module(path: Path) -> ModuleType | None:
    """connectors/<name>/reconcile.py, imported once per file; None when there is none."""
    if not path.is_file():
        return None
    name = f"crossdock_reconcile_{path.parent.name}"
    module = sys.modules.get(name)
    if module is None or getattr(module, "__file__", None) != str(path):
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return module
