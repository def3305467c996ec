"""What a person types at `crossdock profiles` -> what stitching knows.

A profile is asked for by its id, by an email on it, or by one of its records'
keys (`hubspot:123`, what `profiles review` lists); all three are accepted
everywhere a profile is. A record key also opens the record itself, so a
reviewer sees the two records of a pair side by side with the evidence for and
against each field.
"""

from __future__ import annotations

import math
from typing import Any

from sqlmodel import Session

from hub.context import HubContext
from hub.destinations import open_destination
from hub.errors import ConfigError
from hub.identity.match import LEVELS, MatchModel
from hub.identity.state import IdentityAssignment, IdentityModelRow, IdentityRedirect

__all__ = ["is_record_key", "profile_of_record", "contact_records", "field_evidence", "stored_model"]


def is_record_key(text: str) -> bool:
    """`source:id` (an email has an @, a profile id no colon)."""
    return ":" in text and "@" not in text


def profile_of_record(ctx: HubContext, key: str) -> str:
    """The profile holding record `key` today (ConfigError when stitching never saw it)."""
    with Session(ctx.engine) as session:
        assigned = session.get(IdentityAssignment, key)
        if assigned is None:
            raise ConfigError(
                f"no stitched record `{key}` (record keys look like hubspot:123, as "
                "`crossdock profiles review` lists them; run `crossdock stitch` first)"
            )
        redirect = session.get(IdentityRedirect, assigned.profile_id)
    return redirect.profile_id if redirect is not None else assigned.profile_id


def stored_model(ctx: HubContext) -> MatchModel | None:
    with Session(ctx.engine) as session:
        row = session.get(IdentityModelRow, 1)
    return MatchModel.from_json(row.model) if row is not None else None


def contact_records(ctx: HubContext, keys: list[str]) -> dict[str, dict[str, Any]]:
    """The synced contact row behind each record key, read from the table it was stitched
    from (`profile_records.source_table`); a key whose row is gone is left out."""
    from hub.identity.run import _inputs, profile_destination

    ws = ctx.workspace()
    inputs = {i.table: i for i in _inputs(ctx, ws) if i.entity == "contact"}
    dest, _ = profile_destination(ctx, ws)
    try:
        tables = {}
        if dest.has_table("profile_records"):
            for key in keys:
                found = dest.read_rows("profile_records", where={"record_key": key})
                if found:
                    tables[key] = found[0]["source_table"]
    finally:
        dest.close()
    out: dict[str, dict[str, Any]] = {}
    for key, table in tables.items():
        item = inputs.get(table)
        if item is None:
            continue
        source, _, source_id = key.partition(":")
        src = open_destination(item.dest_type, item.dest_config)
        try:
            rows = src.read_rows(table, where={"source": source, "source_id": source_id})
        finally:
            src.close()
        if rows:
            out[key] = {**rows[0], "_table": table, "_connection": item.connection}
    return out


def field_evidence(
    model: MatchModel | None, levels: list[int] | tuple[int, ...]
) -> dict[str, dict[str, Any]]:
    """Per match field: the comparison level and its weight in bits, log2(m/u): how much
    more often true matches than non-matches compare this way (negative: evidence of two
    people; a missing value weighs nothing)."""
    if model is None:
        return {}
    out: dict[str, dict[str, Any]] = {}
    for i, (name, kind, level) in enumerate(zip(model.fields, model.kinds, levels, strict=True)):
        names = LEVELS[kind]  # type: ignore[index]
        if level < 0:
            out[name] = {"level": "missing", "bits": 0.0}
            continue
        bits = math.log2(model.m[i][level]) - math.log2(model.u[i][level])
        out[name] = {"level": names[len(names) - 1 - level], "bits": round(bits, 2)}
    return out
