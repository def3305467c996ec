"""Reconcile a connection: per stream, the source (read through its connector and mapping)
against the warehouse table, compared in the warehouse's engine; with `repair`, fix what
differs and check again.

What is read (docs/reconciliation.md, "What is compared"): the connector's keys-only read
when it declares one (hub/reconcile/source_reads.py), staleness then judged by change time;
the full read, with checksums, when it declares none or `content` is asked.

Every check is kept in the store (hub/reconcile/store.py) and audited with its counts; a
repair is audited with counts and keyed hashes of the keys it touched, never values.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from hub.connections import destination_config, source_for, stream_mapping
from hub.context import HubContext
from hub.destinations import LINEAGE_COLUMNS, SqlDestination, TableSpec, open_destination
from hub.errors import ConfigError, HubError
from hub.mapping import CompiledMapping
from hub.reconcile.compare import CompareBy, SourceRow, WarehouseCompare, key_text
from hub.reconcile.report import ConnectionReport, ReadKind, StreamReport
from hub.reconcile.source_reads import ReconcileReads, reads_for
from hub.reconcile.source_side import CHANGED_AT, SourceSide
from hub.reconcile.store import last_sync_started, save_reports
from hub.redaction import redact
from hub.sources import Source
from hub.workspace import Connection, mapping_file

__all__ = ["reconcile_connection"]

log = logging.getLogger("crossdock.reconcile")
_AUDITED_KEY_HASHES = 1_000  # per repair entry: enough to trace a record, bounded in size
_WRITE_BATCH = 2_000


@dataclass
class _Stream:
    """One stream's parts, opened once for the check, the repair and the check after it."""

    name: str
    table: str
    mapping: CompiledMapping
    source: Source
    dest: SqlDestination
    compare: WarehouseCompare
    reads: ReconcileReads
    by: CompareBy  # "hash": a full read with checksums; else the keys-only read

    @property
    def read(self) -> ReadKind:
        return "full" if self.by == "hash" else "keys"


def reconcile_connection(
    ctx: HubContext,
    name: str,
    *,
    streams: list[str] | None = None,
    repair: bool = False,
    content: bool | None = None,
) -> ConnectionReport:
    """Check (and with `repair`, fix) the connection's streams; the report of each is stored.
    `content` (default: the connection's `reconcile.content`) compares every row's checksum,
    with a full read, even where the connector offers a keys-only read."""
    conn = _connection(ctx, name)
    wanted = _streams(ctx, conn, streams)
    check_id = uuid.uuid4().hex[:12]
    out = ConnectionReport(conn.name)
    before: list[StreamReport] = []
    for stream in wanted:
        report = StreamReport(conn.name, stream, conn.table_for(stream))
        started = time.perf_counter()
        try:
            with _opened(ctx, conn, stream, _content(conn, content)) as parts:
                report.read = parts.read
                _check(ctx, conn, parts, report)
                report.seconds = time.perf_counter() - started
                if repair and report.differences:
                    before.append(report)
                    report = _repair(ctx, conn, parts, report, check_id, out)
                elif repair:
                    before.append(report)
        except HubError as exc:
            report.status, report.error = "failed", redact(str(exc))
        except Exception as exc:  # a driver or API error: the report says what, the next stream runs
            log.exception("reconcile of %s/%s failed", conn.name, stream)
            report.status, report.error = "failed", redact(f"{type(exc).__name__}: {exc}")
        report.seconds = time.perf_counter() - started
        out.streams.append(report)
    if repair:
        out.before = before
        out.repaired = out.repaired or {}
        save_reports(ctx.engine, check_id, before, phase="before-repair")
    save_reports(ctx.engine, check_id, out.streams, phase="after-repair" if repair else "check")
    for r in out.streams:
        ctx.audit.append(
            "reconcile.check",
            target=f"{conn.name}/{r.stream}",
            details={
                "check_id": check_id,
                "status": r.status,
                **{
                    k: getattr(r, k)
                    for k in ("read", "source", "warehouse", "missing", "extra", "stale", "pending")
                },
                "error": r.error,
            },
        )
    return out


def _connection(ctx: HubContext, name: str) -> Connection:
    conn = ctx.workspace().connection(name)
    if conn.writes_back:
        raise ConfigError(
            f"connection `{name}` writes back to {conn.destination.type}: this compares syncs into a "
            "SQL warehouse; `crossdock reconcile` checks a write-back with hub/reconcile/writeback.py",
            file=str(ctx.workspace_file),
        )
    return conn


def _streams(ctx: HubContext, conn: Connection, streams: list[str] | None) -> list[str]:
    unknown = [s for s in streams or [] if s not in conn.streams]
    if unknown:
        raise ConfigError(
            f"connection `{conn.name}` has no stream {', '.join(f'`{s}`' for s in unknown)} "
            f"(its streams: {', '.join(conn.streams)})",
            file=str(ctx.workspace_file),
        )
    return list(streams or conn.streams)


def _content(conn: Connection, asked: bool | None) -> bool:
    return bool(conn.reconcile.content) if asked is None else asked


@contextmanager
def _opened(ctx: HubContext, conn: Connection, stream: str, content: bool) -> Iterator[_Stream]:
    scfg = conn.streams[stream]
    mapping = stream_mapping(ctx, conn, stream)
    if not mapping.key:
        raise ConfigError(
            f"stream `{stream}`: its mapping `{scfg.mapping}` declares no key, and reconcile compares "
            "rows by key",
            file=str(mapping_file(ctx.workspace_dir, scfg.mapping)),
        )
    table = conn.table_for(stream)
    source = source_for(ctx, conn)
    reads = reads_for(source, stream, mapping)
    columns = mapping.columns()
    by: CompareBy = "hash"
    if not content and reads.keys is not None:  # keys only; staleness by change time if it has one
        by = "changed" if CHANGED_AT in columns else None
    dest = open_destination(conn.destination.type, destination_config(ctx, conn))
    try:
        if not dest.has_table(table):
            raise HubError(f"table `{table}` does not exist in the warehouse: sync `{conn.name}` first")
        compare = WarehouseCompare(dest, table, mapping.key, {k: columns[k] for k in mapping.key}, by=by)
        try:
            yield _Stream(stream, table, mapping, source, dest, compare, reads, by)
        finally:
            compare.drop()
    finally:
        dest.close()
        reads.close()


def _check(
    ctx: HubContext, conn: Connection, parts: _Stream, report: StreamReport, rewrite: _Rewrite | None = None
) -> None:
    """Read the source, load its keys and checksums, compare. With `rewrite`, the same read
    also writes the rows of the keys it wants (a repair and its check after, in one read)."""
    watermark = last_sync_started(ctx.engine, conn.name, parts.name)
    source = parts.source if parts.by == "hash" else parts.reads.keys
    assert source is not None, "a keys compare without a keys read"
    side = SourceSide(source, parts.name, parts.mapping, watermark, by=parts.by)
    rows = side.rows() if rewrite is None else rewrite.through(side)
    parts.compare.load_source(rows)
    if rewrite is not None:
        rewrite.flush()
    parts.compare.compare(report)


def _repair(
    ctx: HubContext,
    conn: Connection,
    parts: _Stream,
    report: StreamReport,
    check_id: str,
    out: ConnectionReport,
) -> StreamReport:
    """Extras per `deletes:`, then the missing and stale rows written again from the source,
    then the check again; returns the report after repair.

    Where the connector fetches by key, exactly the missing and stale keys are re-read.
    Otherwise one full read of the stream, of which only the wanted keys are written (merge
    on key); on a full-read check that same read is the check after repair."""
    compare = parts.compare
    wanted_keys = [k for kind in ("missing", "stale") for k in compare.keys(kind)]
    wanted = {key_text(k) for k in wanted_keys}
    extras = [key_text(k) for k in compare.keys("extra")] if report.extra else []
    deleted = flagged = 0
    if report.extra:
        if conn.deletes == "hard":
            deleted = compare.delete_extras()
        else:
            flagged = compare.flag_extras()
    rewrite = _Rewrite(conn, parts, wanted, check_id)
    after = StreamReport(conn.name, parts.name, parts.table, read=parts.read)
    started = time.perf_counter()
    if wanted and parts.reads.fetch is not None:
        rewrite.fetched(parts.reads.fetch_keys(wanted_keys))
        how = "by key"
        _check(ctx, conn, parts, after)
    elif wanted and parts.by != "hash":  # a keys check, no fetch by key: a full read writes them
        rewrite.fetched(SourceSide(parts.source, parts.name, parts.mapping).mapped(), mapped=True)
        how = "full read"
        _check(ctx, conn, parts, after)
    else:
        how = "full read" if wanted else "nothing"
        _check(ctx, conn, parts, after, rewrite if wanted else None)
    after.seconds = time.perf_counter() - started
    done = {"rewritten": rewrite.written, "flagged_deleted": flagged, "deleted": deleted}
    out.repaired = {**(out.repaired or {}), parts.name: done}
    key = ctx.keyring.pseudonym_key()
    ctx.audit.append(
        "reconcile.repair",
        target=f"{conn.name}/{parts.name}",
        details={
            "check_id": check_id,
            **done,
            "missing": report.missing,
            "stale": report.stale,
            "extra": report.extra,
            "deletes": conn.deletes,
            "reread": how,
            "key_hashes": {
                "rewritten": _key_hashes(key, sorted(wanted)),
                "extra": _key_hashes(key, extras),
            },
            "after": {"status": after.status, "differences": after.differences},
        },
    )
    return after


class _Rewrite:
    """Writes the source rows of the wanted keys while the check reads them past."""

    def __init__(self, conn: Connection, parts: _Stream, wanted: set[str], check_id: str) -> None:
        mapping = self.mapping = parts.mapping
        self.dest, self.key, self.wanted = parts.dest, mapping.key, wanted
        self.spec = TableSpec(parts.table, {**mapping.columns(), **LINEAGE_COLUMNS}, mapping.key)
        self.lineage: dict[str, Any] = {
            "_cd_connection": conn.name,
            "_cd_stream": parts.name,
            "_cd_run_id": f"reconcile-{check_id}",
            "_cd_mapping_version": mapping.version,
        }
        self.batch: list[dict[str, Any]] = []
        self.written = 0
        self._prepared = False

    def through(self, side: SourceSide) -> Iterator[SourceRow]:
        for row in side.mapped():
            self._offer(row)
            yield side.source_row(row)

    def fetched(self, records: Iterable[dict[str, Any]], mapped: bool = False) -> None:
        """Write the wanted rows among these source records (or mapped rows), then flush."""
        if mapped:
            for row in records:
                self._offer(row)
        else:
            for chunk in _chunks(records, _WRITE_BATCH):
                for row in self.mapping.map_batch(chunk).rows:
                    self._offer(row)
        self.flush()

    def _offer(self, row: dict[str, Any]) -> None:
        if key_text([row.get(k) for k in self.key]) in self.wanted:
            self.batch.append({**row, **self.lineage, "_cd_extracted_at": datetime.now(UTC)})
            if len(self.batch) >= _WRITE_BATCH:
                self.flush()

    def flush(self) -> None:
        if not self.batch:
            return
        if not self._prepared:
            self.dest.prepare(self.spec, "merge")
            self._prepared = True
        self.written += self.dest.write(self.spec, "merge", self.batch)
        self.batch = []


def _chunks(items: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def _key_hashes(key: bytes, keys: list[str]) -> list[str]:
    return [hmac.new(key, k.encode(), hashlib.sha256).hexdigest()[:16] for k in keys[:_AUDITED_KEY_HASHES]]
