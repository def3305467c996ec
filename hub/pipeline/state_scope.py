"""Which saved incremental state a stream may resume from: state belongs to its destination.

A saved cursor says "every record before this is in the table". That is only true of the
table the records went to: pointed at a new warehouse (or after the table was dropped), a
run resuming from it would copy only the newest records and report success. So the state
row remembers a fingerprint of its destination, and a run resumes from it only when the
fingerprint matches and the table is there; otherwise it reads everything again (merge on
key makes that harmless) and says why.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import make_url

from hub.store.models import StreamState

__all__ = ["destination_fingerprint", "resumable_state"]


def destination_fingerprint(dest_type: str, config: Mapping[str, Any], table: str) -> str:
    """A short hash of where a stream's records go: type, URL (no password), schema, table.

    The password is left out so rotating it keeps the state; a write-back's other settings
    (tokens) are left out for the same reason."""
    url = config.get("url") or config.get("base_url")
    parts = {
        "type": dest_type,
        "url": _without_password(str(url)) if url else None,
        "schema": config.get("schema"),
        "table": table,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def resumable_state(
    row: StreamState | None, fingerprint: str, table_present: bool, table: str
) -> tuple[dict[str, Any] | None, str | None]:
    """(state to resume from or None, why a saved state is not used, or None)."""
    if row is None:
        return None, None
    if row.destination is not None and row.destination != fingerprint:
        return None, (
            f"the saved incremental state was for another destination; table `{table}` "
            "is read from scratch (a full read)"
        )
    if not table_present:
        return None, (
            f"table `{table}` is not in the destination (new or dropped); "
            "the saved incremental state is ignored and the stream is read from scratch (a full read)"
        )
    return dict(row.state), None


def _without_password(url: str) -> str:
    try:
        return make_url(url)._replace(password=None).render_as_string(hide_password=False)
    except Exception:  # not a SQLAlchemy URL (a write-back's API base): no password in it
        return url
