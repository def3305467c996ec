"""Write-back reconciliation: does the SaaS tool hold what it accepted?

A write the vendor answered 200 to can still be gone a day later (dropped, merged away,
edited by hand). This reads the destination back through its API (the connector's
`read_back`) and compares it with the write-back snapshot (hub/writeback/state.py), the
record of every write the API accepted:

- missing: accepted, and the destination no longer holds it;
- different: it holds it, but not with the values last accepted (compared field by field on
  the fields the hub sent; values others set in fields the hub does not send are theirs);
- extra: it still holds a record the hub deleted (write_mode `overwrite`: the row left the
  table, and the API accepted the delete). Records the hub never sent (HubSpot's CRM is full
  of contacts from other tools) are not its business: they are only counted, as `unmanaged`.

The snapshot keeps hashes, not values (no personal data in the store), so the values to
compare come from the warehouse rows the write-back reads, mapped and prepared exactly as a
run does. A row whose payload changed since its last accepted write is `pending` (the next
run sends it), not a difference. `repair_writeback` sends the missing and different records
again through the ordinary write-back destination (results, snapshot, audit), deletes the
extras again, and reconciles once more.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select

from hub.connections import source_for, stream_mapping, writeback_for
from hub.context import HubContext
from hub.destinations import TableSpec
from hub.errors import ConfigError
from hub.mapping import CompiledMapping
from hub.pipeline.run import new_run_id
from hub.sources import RECORD
from hub.workspace import Connection
from hub.writeback import Change, Held, WritebackApi, WritebackDestination, state
from hub.writeback.destination import match_key_hash, payload_digest

__all__ = ["WritebackReport", "reconcile_writeback", "repair_writeback"]

_SAMPLES = 20  # record refs per kind shown in a report's dict form


@dataclass(frozen=True)
class WritebackReport:
    connection: str
    stream: str
    destination: str  # the write-back connector, e.g. "hubspot"
    checked: int  # accepted records in the snapshot
    equal: int
    missing: tuple[str, ...] = ()  # record refs (warehouse keys, no personal data)
    different: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()  # the destination's ids of records it holds although deleted
    unmanaged: int = 0  # records there that the hub never sent: not its business
    pending: int = 0  # changed in the warehouse since their last write: the next run sends them
    unsent: int = 0  # rows never accepted: new since the last run, or rejected (`crossdock results`)
    seconds: float = 0.0
    fields: Mapping[str, int] = field(default_factory=dict)  # field -> records differing in it

    @property
    def differences(self) -> int:
        return len(self.missing) + len(self.different) + len(self.extra)

    @property
    def clean(self) -> bool:
        return self.differences == 0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for kind in ("missing", "different", "extra"):
            data[kind] = len(getattr(self, kind))
            data[f"{kind}_sample"] = list(getattr(self, kind)[:_SAMPLES])
        data["differences"] = self.differences
        return data


@dataclass(frozen=True)
class _Row:
    ref: str
    key: str
    payload: dict[str, Any]
    payload_hash: str


def reconcile_writeback(ctx: HubContext, connection: str, stream: str) -> WritebackReport:
    """Compare what the connection's destination holds with what it accepted, for one stream.

    The destination's records and the snapshot are held in memory; the warehouse rows stream
    past them (each compared, then dropped)."""
    started = time.perf_counter()
    conn, mapping = _stream(ctx, connection, stream)
    target = f"{connection}/{stream}"
    api = writeback_for(ctx, conn)
    tally = _Tally(comparable=api.comparable)
    try:
        held = list(api.read_back())  # first: a connector that cannot is refused before any read
        by_key = {h.key: h for h in held}
        by_id = {h.remote_id: h for h in held if h.remote_id}
        sent = _snapshot(ctx, target)
        pseudonym = ctx.keyring.pseudonym_key()
        for row in _rows(ctx, conn, stream, mapping, api):
            entry = sent.pop(match_key_hash(pseudonym, row.key), None)
            if entry is None:
                tally.unsent += 1
                continue
            payload_hash, ref, remote_id = entry
            found = by_key.get(row.key.strip().lower()) or (by_id.get(remote_id) if remote_id else None)
            tally.judge(ref, found, row if row.payload_hash == payload_hash else None)
    finally:
        api.close()
    for _, ref, remote_id in sent.values():  # rows gone from the table (merge keeps them there)
        tally.judge(ref, by_id.get(remote_id) if remote_id else None, None, present_only=True)
    others = [h for h in held if id(h) not in tally.seen]
    deleted = _deleted_ids(ctx, connection, stream)
    extra = sorted(h.remote_id for h in others if h.remote_id and h.remote_id in deleted)
    return WritebackReport(
        connection=connection,
        stream=stream,
        destination=conn.destination.type,
        checked=tally.checked,
        equal=tally.equal,
        missing=tuple(sorted(tally.missing)),
        different=tuple(sorted(tally.different)),
        extra=tuple(extra),
        unmanaged=len(others) - len(extra),
        pending=tally.pending,
        unsent=tally.unsent,
        seconds=round(time.perf_counter() - started, 3),
        fields=dict(sorted(tally.fields.items())),
    )


@dataclass
class _Tally:
    checked: int = 0
    equal: int = 0
    pending: int = 0
    unsent: int = 0
    missing: list[str] = field(default_factory=list)
    different: list[str] = field(default_factory=list)
    fields: dict[str, int] = field(default_factory=dict)
    seen: set[int] = field(default_factory=set)  # id() of the destination records matched
    # both sides of a compare in the connector's comparable form (WritebackApi.comparable)
    comparable: Callable[[dict[str, Any]], dict[str, Any]] = dict

    def judge(self, ref: str, found: Held | None, row: _Row | None, present_only: bool = False) -> None:
        """One accepted record: `found` what the destination holds under its key or id, `row`
        its warehouse row when that still has the payload last accepted (else it is pending)."""
        self.checked += 1
        if found is None:
            self.missing.append(ref)
            return
        self.seen.add(id(found))
        if present_only:
            self.equal += 1  # no row to compare with: present is all that can be checked
        elif row is None:
            self.pending += 1
        elif off := _differing(self.comparable(row.payload), self.comparable(found.payload)):
            self.different.append(ref)
            for name in off:
                self.fields[name] = self.fields.get(name, 0) + 1
        else:
            self.equal += 1


def _snapshot(ctx: HubContext, target: str) -> dict[str, tuple[str, str, str | None]]:
    """key hash -> (payload hash, record ref, remote id) of every accepted record."""
    t = state.WritebackSnapshot.__table__  # type: ignore[attr-defined]
    query = select(t.c.key_hash, t.c.payload_hash, t.c.record_ref, t.c.remote_id).where(
        t.c.destination == target
    )
    with ctx.engine.connect() as conn:
        return {k: (p, ref, rid) for k, p, ref, rid in conn.execute(query)}


def repair_writeback(ctx: HubContext, report: WritebackReport) -> WritebackReport:
    """Send the report's missing and different records again (and delete the extras of a
    mirrored list), audited; returns a fresh reconciliation, clean when the repair took."""
    conn, mapping = _stream(ctx, report.connection, report.stream)
    target = f"{report.connection}/{report.stream}"
    again = set(report.missing) | set(report.different)
    forget = [s.key_hash for s in state.iter_snapshot(ctx.engine, target) if s.record_ref in again]
    run_id = f"repair-{new_run_id()}"
    api = writeback_for(ctx, conn)
    try:
        rows = [r for r in _mapped(ctx, conn, report.stream, mapping) if _ref(r, mapping) in again]
        # Forgotten, the records are new to the diff: the ordinary destination sends them
        # (an upsert by match key, so a record still there is updated, not duplicated).
        state.drop_snapshot(ctx.engine, target, forget, [])
        dest = WritebackDestination(
            api,
            name=conn.destination.type,
            engine=ctx.engine,
            connection=report.connection,
            stream=report.stream,
            run_id=run_id,
            pseudonym_key=ctx.keyring.pseudonym_key(),
        )
        spec = TableSpec(conn.table_for(report.stream), mapping.columns(), mapping.key)
        dest.prepare(spec, "merge")
        dest.write(spec, "merge", rows)
        deleted = _delete_extras(api, report) if report.extra else 0
        counts = dest.report()
    finally:
        api.close()
    ctx.audit.append(
        "reconcile.writeback.repair",
        target=target,
        details={
            "run_id": run_id,
            "missing": len(report.missing),
            "different": len(report.different),
            "accepted": counts["accepted"],
            "rejected": counts["rejected"],
            "extras_deleted": deleted,
        },
    )
    return reconcile_writeback(ctx, report.connection, report.stream)


def _deleted_ids(ctx: HubContext, connection: str, stream: str) -> set[str]:
    """The destination's ids of records whose delete the API accepted (and not re-created
    since: those are in the snapshot and matched before this is asked)."""
    t = state.WritebackResult.__table__  # type: ignore[attr-defined]
    query = select(t.c.remote_id).where(
        t.c.connection == connection,
        t.c.stream == stream,
        t.c.action == "delete",
        t.c.status == "accepted",
        t.c.remote_id.is_not(None),
    )
    with ctx.engine.connect() as conn:
        return {str(rid) for (rid,) in conn.execute(query)}


def _delete_extras(api: WritebackApi, report: WritebackReport) -> int:
    changes = [Change(f"remote:{rid}", "", {}, "delete", rid) for rid in report.extra]
    done = 0
    for i in range(0, len(changes), api.batch_limit):
        done += sum(o.accepted for o in api.delete(changes[i : i + api.batch_limit]))
    return done


def _stream(ctx: HubContext, connection: str, stream: str) -> tuple[Connection, CompiledMapping]:
    conn = ctx.workspace().connection(connection)
    if not conn.writes_back:
        raise ConfigError(
            f"connection `{connection}` writes to SQL, not a SaaS tool: reconcile its sync instead",
            file=str(ctx.workspace_file),
            key=f"connections.{connection}.destination.type",
        )
    if stream not in conn.streams:
        raise ConfigError(
            f"connection `{connection}` has no stream `{stream}`; its streams: {', '.join(conn.streams)}",
            file=str(ctx.workspace_file),
            key=f"connections.{connection}.streams",
        )
    return conn, stream_mapping(ctx, conn, stream)


def _mapped(
    ctx: HubContext, conn: Connection, stream: str, mapping: CompiledMapping
) -> Iterator[dict[str, Any]]:
    """The warehouse rows the write-back sends, mapped as a run maps them."""
    source = source_for(ctx, conn)
    batch: list[dict[str, Any]] = []
    for kind, payload in source.read(stream, incremental=False, state=None):
        if kind == RECORD:
            batch.append(payload)
            if len(batch) >= 5000:
                yield from mapping.map_batch(batch).rows
                batch = []
    yield from mapping.map_batch(batch).rows


def _ref(row: dict[str, Any], mapping: CompiledMapping) -> str:
    return ":".join(str(row.get(k)) for k in mapping.key)  # as WritebackDestination names it


def _rows(
    ctx: HubContext, conn: Connection, stream: str, mapping: CompiledMapping, api: WritebackApi
) -> Iterator[_Row]:
    for row in _mapped(ctx, conn, stream, mapping):
        try:
            key, payload = api.prepare(row)
        except ValueError:
            continue  # never sent (rejected before any call), so never in the snapshot
        yield _Row(_ref(row, mapping), key, payload, payload_digest(payload))


def _differing(sent: Mapping[str, Any], held: Mapping[str, Any], prefix: str = "") -> list[str]:
    """The fields of `sent` whose value the destination does not hold (nested: `a.b`)."""
    off = []
    for name, value in sent.items():
        there = held.get(name)
        if isinstance(value, Mapping) and isinstance(there, Mapping):
            off.extend(_differing(value, there, f"{prefix}{name}."))
        elif there is None or str(there) != str(value):
            off.append(f"{prefix}{name}")
    return off
