"""Row checksums: a hash of a row's mapped fields, stored with the row in `_crossdock_hash`.

Reconciliation (hub/reconcile/) compares these instead of whole rows, and a merge
rewrites a row only when its hash changed, so a full re-sync of unchanged data
rewrites nothing. The source side of a reconcile maps records with the same mapping
and hashes them here, so both sides hash the same Python values the same way.
"""

from __future__ import annotations

import hashlib
import operator
from collections.abc import Callable, Iterable
from typing import Any

import orjson

__all__ = ["HASH_COLUMN", "DELETED_COLUMN", "row_hasher"]

HASH_COLUMN = "_crossdock_hash"
# Set when reconcile repair flags a row its source no longer has (`deletes: soft`); a merge
# that brings the row back clears it.
DELETED_COLUMN = "_cd_deleted_at"


def row_hasher(columns: Iterable[str]) -> Callable[[dict[str, Any]], str]:
    """row -> hex hash of its `columns`' values (in name order, so column order does not matter)."""
    names = sorted(columns)
    get = operator.itemgetter(*names) if names else (lambda _row: ())
    one = len(names) == 1
    dumps, blake = orjson.dumps, hashlib.blake2b

    def digest(row: dict[str, Any]) -> str:
        try:
            values = (get(row),) if one else get(row)
        except KeyError:  # a row lacking a column holds NULL there, as the table does
            values = tuple(row.get(c) for c in names)
        try:
            text = dumps(values, default=str)
        except TypeError:  # what JSON cannot hold (an int over 64 bits, a lone surrogate): its repr
            text = repr(values).encode("utf-8", "backslashreplace")
        return blake(text, digest_size=16).hexdigest()

    return digest
