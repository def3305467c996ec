"""A dry run of a mapping on sample records: input beside output, nothing written."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import islice
from typing import Any

import orjson

from hub.mapping.loader import CompiledMapping

__all__ = ["PreviewRow", "preview", "render_preview"]


@dataclass
class PreviewRow:
    input: dict[str, Any]
    output: dict[str, Any] | None  # None when filtered out or dead-lettered
    outcome: str  # mapped | filtered | dead-letter
    reason: str | None = None


def preview(mapping: CompiledMapping, records: Iterable[dict[str, Any]], sample: int) -> list[PreviewRow]:
    rows = []
    for record in islice(records, sample):
        batch = mapping.map_batch([record])
        if batch.rows:
            rows.append(PreviewRow(record, batch.rows[0], "mapped"))
        elif batch.dead:
            rows.append(PreviewRow(record, None, "dead-letter", batch.dead[0][1]))
        else:
            rows.append(PreviewRow(record, None, "filtered"))
    return rows


def render_preview(rows: list[PreviewRow], as_json: bool = False) -> str:
    if as_json:
        return orjson.dumps([r.__dict__ for r in rows], option=orjson.OPT_INDENT_2, default=str).decode()
    out = []
    counts = {o: sum(1 for r in rows if r.outcome == o) for o in ("mapped", "filtered", "dead-letter")}
    for i, r in enumerate(rows, 1):
        out.append(f"--- record {i}: {r.outcome}" + (f" ({r.reason})" if r.reason else ""))
        out.append("  in:  " + orjson.dumps(r.input, default=str).decode())
        if r.output is not None:
            width = max(len(k) for k in r.output)
            out.extend(f"  out: {k:<{width}} = {v!r}" for k, v in r.output.items())
    out.append(f"{len(rows)} records: " + ", ".join(f"{n} {o}" for o, n in counts.items()))
    return "\n".join(out)
