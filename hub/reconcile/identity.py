"""Identity reconciliation: do the profiles still stand on records that exist?

`crossdock stitch` builds profiles from the synced contact records and hangs the events of
other systems on their timelines (hub/identity/run.py). Records then go away (a hard delete
reconciled out of the warehouse, a table dropped, an erasure), and until the next stitch the
profile tables still show them. This checks, read-only:

- vanished records: a `profile_records` row whose record is no longer in its table (a row
  flagged deleted by reconciliation's soft-delete column counts as gone);
- orphan profiles: profiles none of whose records exist any more (or that have none);
- orphan events: timeline entries whose person vanished: their profile (after following
  `profile_redirects`) is no longer in `profiles`, or is an orphan.

The fix is `crossdock stitch --full`, which rebuilds the tables from the records there are.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any

from hub.connections import destination_config
from hub.context import HubContext
from hub.destinations import SqlDestination, open_destination
from hub.destinations.checksum import DELETED_COLUMN
from hub.errors import FatalError
from hub.identity.run import profile_destination
from hub.workspace import Connection

__all__ = ["IdentityReport", "reconcile_identity"]

# A row whose DELETED_COLUMN (set by sync reconciliation's soft delete of a row gone at its
# source) is set no longer exists for identity.
_SAMPLES = 20


@dataclass(frozen=True)
class IdentityReport:
    profiles: int
    records: int  # profile_records rows checked
    events: int  # timeline entries checked
    vanished_records: tuple[str, ...] = ()  # record keys ("hubspot:17")
    orphan_profiles: tuple[str, ...] = ()  # profile ids
    orphan_events: tuple[str, ...] = ()  # timeline record keys ("zendesk:ticket:9")
    unchecked_tables: tuple[str, ...] = ()  # record tables no connection writes any more
    seconds: float = 0.0

    @property
    def differences(self) -> int:
        return len(self.vanished_records) + len(self.orphan_profiles) + len(self.orphan_events)

    @property
    def clean(self) -> bool:
        return self.differences == 0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for kind in ("vanished_records", "orphan_profiles", "orphan_events"):
            data[kind] = len(getattr(self, kind))
            data[f"{kind}_sample"] = list(getattr(self, kind)[:_SAMPLES])
        data["differences"] = self.differences
        return data


def reconcile_identity(ctx: HubContext) -> IdentityReport:
    started = time.perf_counter()
    dest, url = profile_destination(ctx)
    try:
        if not dest.has_table("profiles"):
            raise FatalError(f"no profile tables at {url}: run `crossdock stitch` first")
        profiles = {str(r["profile_id"]) for r in dest.iter_rows("profiles")}
        members = dest.read_rows("profile_records")
        timeline = dest.read_rows("profile_timeline") if dest.has_table("profile_timeline") else []
        redirects = (
            {str(r["old_profile_id"]): str(r["profile_id"]) for r in dest.iter_rows("profile_redirects")}
            if dest.has_table("profile_redirects")
            else {}
        )
    finally:
        dest.close()
    tables = sorted({str(m["source_table"]) for m in members})
    existing, unchecked = _record_keys(ctx, tables)
    vanished = sorted(
        str(m["record_key"])
        for m in members
        if m["source_table"] in existing
        and (str(m["source"]), str(m["source_id"])) not in existing[str(m["source_table"])]
    )
    gone = set(vanished)
    standing: dict[str, int] = defaultdict(int)  # profile -> its records that still exist
    for m in members:
        if str(m["record_key"]) not in gone:
            standing[str(m["profile_id"])] += 1
    orphans = sorted(p for p in profiles if standing[p] == 0)
    alive = profiles - set(orphans)
    orphan_events = sorted(
        {str(e["record_key"]) for e in timeline if _follow(str(e["profile_id"]), redirects) not in alive}
    )
    return IdentityReport(
        profiles=len(profiles),
        records=len(members),
        events=len(timeline),
        vanished_records=tuple(vanished),
        orphan_profiles=tuple(orphans),
        orphan_events=tuple(orphan_events),
        unchecked_tables=tuple(unchecked),
        seconds=round(time.perf_counter() - started, 3),
    )


def _follow(profile_id: str, redirects: dict[str, str]) -> str:
    seen = {profile_id}
    while profile_id in redirects and redirects[profile_id] not in seen:
        profile_id = redirects[profile_id]
        seen.add(profile_id)
    return profile_id


def _record_keys(ctx: HubContext, tables: list[str]) -> tuple[dict[str, set[tuple[str, str]]], list[str]]:
    """(source, source_id) of every live row of each table, and the tables no connection of
    the workspace writes (their records cannot be checked). A table that is gone holds none."""
    where: dict[str, Connection] = {}
    for conn in ctx.workspace().connections.values():
        if conn.writes_back:
            continue
        for stream in conn.streams:
            where.setdefault(conn.table_for(stream), conn)
    found: dict[str, set[tuple[str, str]]] = {}
    for table in tables:
        if table not in where:
            continue
        dest = open_destination(where[table].destination.type, destination_config(ctx, where[table]))
        try:
            found[table] = _live_keys(dest, table) if isinstance(dest, SqlDestination) else set()
        finally:
            dest.close()
    return found, [t for t in tables if t not in where]


def _live_keys(dest: SqlDestination, table: str) -> set[tuple[str, str]]:
    if not dest.has_table(table):
        return set()
    soft = DELETED_COLUMN in dest.column_types(table)
    return {
        (str(r.get("source")), str(r.get("source_id")))
        for r in dest.iter_rows(table)
        if not (soft and r.get(DELETED_COLUMN) is not None)
    }
