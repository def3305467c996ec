"""What the govern step would do to a connection's sample rows: read, map, govern, write nothing.

Shows field names and rule names, never values: the preview is safe to paste in a ticket."""

from __future__ import annotations

from collections.abc import Generator
from itertools import islice
from typing import Any

from hub.connections import source_for, stream_mapping
from hub.context import HubContext
from hub.governance.build import governor_for
from hub.governance.step import WITHDRAW_FIELD
from hub.sources import RECORD

__all__ = ["preview_policies"]


def preview_policies(ctx: HubContext, connection: str, sample: int) -> list[dict[str, Any]]:
    conn = ctx.workspace().connection(connection)
    source = source_for(ctx, conn)
    out: list[dict[str, Any]] = []
    for stream in conn.streams:
        mapping = stream_mapping(ctx, conn, stream)
        governor = governor_for(ctx, conn, stream, mapping)
        if governor is None:
            continue
        events = source.read(stream, incremental=False, state=None)
        records = [p for kind, p in islice(((k, p) for k, p in events if k == RECORD), sample)]
        if isinstance(events, Generator):  # stop the source reading on
            events.close()
        rows = mapping.map_batch(records).rows
        before = [dict(r) for r in rows]
        governed = governor.apply(rows, run_id="policy-test")
        stopped = {str(d["record_key"]): d for d in governed.decisions}
        for row, original in zip(rows, before, strict=True):
            key = ":".join(str(original.get(k)) for k in mapping.key)
            decision = stopped.get(key)
            if decision is not None:
                outcome = "withdrawn" if row.get(WITHDRAW_FIELD) else "dropped"
                out.append(_line(stream, key, outcome, str(decision["rule"]), str(decision["reason"])))
                continue
            changed = sorted(f for f in original if original[f] != row.get(f))
            if changed:
                rules = [r for r in governor.pii_rules() if r.split(".")[1] in changed]
                out.append(_line(stream, key, "changed", ",".join(rules), "fields: " + ", ".join(changed)))
            else:
                out.append(_line(stream, key, "kept", None, "every policy allows it"))
    return out


def _line(stream: str, key: str, outcome: str, rule: str | None, why: str) -> dict[str, Any]:
    return {"stream": stream, "record_key": key, "outcome": outcome, "rule": rule, "why": why}
