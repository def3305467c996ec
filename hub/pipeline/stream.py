"""One stream, step by step: read -> map -> write -> commit -> checkpoint.

The source's state is saved only after the destination committed every record
that came before it, so a crash replays records and never skips them; merge on
key makes the replay harmless. A record the destination refuses (a NUL byte, a
value it cannot hold) counts as handled once it is in the dead letters: the
rest of its batch is committed, and the state after it is saved as usual.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import psycopg
from sqlalchemy.exc import OperationalError

from hub.apigov import audit_refusals, failure_reason, stream_usage
from hub.destinations import LINEAGE_COLUMNS, Destination, SqlDestination, TableSpec
from hub.errors import HubError, RetriableError
from hub.governance.decisions import add_decisions, add_plan
from hub.pipeline.drift import SchemaDrift
from hub.pipeline.info import StreamInfo
from hub.pipeline.plan import StreamJob
from hub.pipeline.select import since_state
from hub.pipeline.state_scope import resumable_state
from hub.redaction import redact_obj
from hub.sources import LOG, RECORD, STATE
from hub.store import runs

__all__ = ["sync_stream"]

log = logging.getLogger("crossdock.pipeline")

# Locked SQLite files, dropped PostgreSQL connections: worth a retry of the stream.
_TRANSIENT_DB_ERRORS = (OperationalError, sqlite3.OperationalError, psycopg.OperationalError)

_SOURCE_LOG_LEVELS = {"WARN": logging.WARNING, "ERROR": logging.ERROR, "FATAL": logging.ERROR}


def sync_stream(job: StreamJob) -> StreamInfo:
    """Sync one stream; returns its info, or raises (after recording the failure)."""
    info = StreamInfo(stream=job.stream, table=job.table)
    started = time.perf_counter()
    runs.start_stream(job.engine, job.run_id, job.stream)
    spec = TableSpec(job.table, {**job.mapping.columns(), **LINEAGE_COLUMNS}, job.mapping.key)
    mode = job.config.write_mode
    destination: Destination | None = None
    try:
        destination = job.open_destination()
        state = _resume_state(job, destination, info) if job.incremental else None
        destination.prepare(spec, mode)
        _copy(job, destination, spec, info, state)
        destination.finish(spec, mode)
        info.status = "succeeded"
    except BaseException as exc:
        info.status, info.error = "failed", _describe(exc)
        if destination is not None:
            _safely(lambda: destination.abort(spec, mode))
        raise
    finally:
        info.seconds = time.perf_counter() - started
        _safely(lambda: _api_usage(job, info))
        if destination is not None:
            info.writeback = destination.report()  # a write-back: what it sent, kept, refused
            _safely(destination.close)
        _safely(
            lambda: runs.finish_stream(
                job.engine,
                job.run_id,
                job.stream,
                status=info.status,
                read=info.read,
                written=info.written,
                dead=info.dead_lettered,
                state=info.state,
                error=info.error,
            )
        )
        _safely(
            lambda: job.audit.append(
                "stream.end",
                target=f"{job.connection}/{job.stream}",
                details={
                    "run_id": job.run_id,
                    "status": info.status,
                    "read": info.read,
                    "written": info.written,
                    "dead_lettered": info.dead_lettered,
                    "erased_skipped": info.erased_skipped,
                    "error": info.error,
                    "schema_drift": info.schema_drift,
                    "state_reset": info.state_reset,
                    "writeback": _counts(info.writeback),
                    "governance": info.governance,
                    "api": info.api,
                },
            )
        )
    return info


def _api_usage(job: StreamJob, info: StreamInfo) -> None:
    """The stream's API calls, waits, 429s, refusals and quota stop (hub/apigov), and the
    audit entries of refused requests. A quota stop or a refusal is the stream's error: the
    source only saw an exception, the ledger knows why."""
    info.api = stream_usage(job.engine, job.run_id, job.stream)
    audit_refusals(job.engine, job.audit)
    reason = failure_reason(info.api) if info.status == "failed" else None
    if reason is None or info.api is None:
        return
    info.error = reason
    if info.api["resume_at"]:
        job.audit.append(
            "api.quota_stop",
            target=f"{job.connection}/{job.stream}",
            details={
                "run_id": job.run_id,
                "accounts": info.api["accounts"],
                "resume_at": info.api["resume_at"],
            },
        )


def _declared_schema(job: StreamJob) -> dict[str, Any] | None:
    """The stream's JSON schema from the source's catalog; None (no drift check) if unknown."""
    try:
        for stream in job.source.discover():
            if stream["name"] == job.stream:
                return stream.get("json_schema") or None
    except HubError as exc:
        log.warning("%s: no schema drift check: the catalog could not be read (%s)", job.stream, exc)
    return None


def _resume_state(job: StreamJob, destination: Destination, info: StreamInfo) -> dict[str, Any] | None:
    """The saved state, if it was saved for this destination and its table is there (before
    `prepare` creates the table). A write-back has no table to lose: only its fingerprint counts."""
    present = not isinstance(destination, SqlDestination) or destination.has_table(job.table)
    saved = runs.load_state(job.engine, job.connection, job.stream)
    state, why = resumable_state(saved, job.destination_key or "", present, job.table)
    if why:
        info.state_reset = why
        log.warning("%s: %s", job.stream, why)
    return state


def _copy(
    job: StreamJob, destination: Destination, spec: TableSpec, info: StreamInfo, state: dict[str, Any] | None
) -> None:
    mode, batch_size = job.config.write_mode, job.config.batch_size
    # Only incremental streams keep state (the workspace loader forbids overwrite with them);
    # a dry run must leave the next real run to read the same records. A stream that keeps
    # none writes in batches of batch_size, not at each state message (a package such as
    # airbyte-source-faker sends one every 100 records: 1,000 small DuckDB writes per 100,000).
    keeps_state = job.config.sync_mode == "incremental" and not job.dry_run
    if job.since and job.incremental:  # a backfill: this run reads from `since`
        state = since_state(state, job.since, connection=job.connection, stream=job.stream)
    lineage: dict[str, Any] = {
        "_cd_connection": job.connection,
        "_cd_stream": job.stream,
        "_cd_run_id": job.run_id,
        "_cd_mapping_version": job.mapping.version,
    }
    buffer: list[dict[str, Any]] = []
    append = buffer.append  # the per-record loop is hot
    drift = SchemaDrift(_declared_schema(job))

    def flush() -> None:
        nonlocal buffer, append
        if not buffer:
            return
        records, buffer = buffer, []
        append = buffer.append
        info.read += len(records)
        drift.observe(records)
        batch = job.mapping.map_batch(records)
        rows, kept_index = _govern(job, *_forget_erased(job, batch.rows, info), info)
        lineage["_cd_extracted_at"] = datetime.now(UTC)
        for row in rows:
            row.update(lineage)
        dead_records = batch.dead
        try:
            if rows:
                info.written += destination.write(spec, mode, rows)
                refused = destination.take_refused()
                if refused and kept_index is not None:  # positions in the mapped batch
                    refused = [(kept_index[pos], why) for pos, why in refused]
                if refused:
                    dead_records = batch.dead + _refused_records(job, records, batch.dead, refused)
            if dead_records and not job.dry_run:  # a dry run counts them; the real run keeps them
                dead = [
                    (job.mapping.mask_pii(record, job.pseudonym_key), reason)
                    for record, reason in dead_records
                ]
                runs.add_dead_letters(job.engine, job.run_id, job.connection, job.stream, redact_obj(dead))
                job.audit.append(
                    "dead_letter.batch",
                    target=f"{job.connection}/{job.stream}",
                    details={"run_id": job.run_id, "count": len(dead_records)},
                )
            if dead_records:  # a write-back mirroring the table must not delete this run
                destination.hold_deletes(
                    f"{info.dead_lettered + len(dead_records)} row(s) were dead-lettered"
                )
        except _TRANSIENT_DB_ERRORS as exc:
            raise RetriableError(
                f"stream `{job.stream}`: the database refused the write ({exc}); "
                "the run can be retried, nothing after the last checkpoint was kept"
            ) from exc
        info.dead_lettered += len(dead_records)
        info.filtered += batch.filtered
        if job.progress:
            job.progress(info)

    try:
        for kind, payload in job.source.read(job.stream, incremental=job.incremental, state=state):
            if kind == RECORD:
                append(payload)
                if len(buffer) >= batch_size:
                    flush()
            elif kind == STATE:
                info.state = payload
                if keeps_state:
                    flush()  # commit what the state covers before saving it
                    runs.save_state(
                        job.engine, job.connection, job.stream, payload, job.run_id, job.destination_key
                    )
            elif kind == LOG:
                level, text = payload
                log.log(_SOURCE_LOG_LEVELS.get(level, logging.WARNING), "%s: %s", job.stream, text)
    except BaseException:
        info.read += len(buffer)  # read but never committed: the next run reads them again
        info.schema_drift = drift.report()
        raise
    flush()
    info.schema_drift = drift.report()
    if info.schema_drift:
        log.warning("%s: schema drift (records delivered anyway): %s", job.stream, info.schema_drift)


def _forget_erased(
    job: StreamJob, rows: list[dict[str, Any]], info: StreamInfo
) -> tuple[list[dict[str, Any]], list[int] | None]:
    """An erased person stays forgotten: their rows, read again from a source that still has
    them, are left out (and counted) before anything is written. Returns the rows left and
    their positions in the mapped batch (None: all of them)."""
    erased = job.erased
    if erased is None or not len(erased):
        return rows, None
    index = [i for i, row in enumerate(rows) if not erased.covers(row)]
    if len(index) == len(rows):
        return rows, None
    info.erased_skipped += len(rows) - len(index)
    return [rows[i] for i in index], index


def _govern(
    job: StreamJob, rows: list[dict[str, Any]], positions: list[int] | None, info: StreamInfo
) -> tuple[list[dict[str, Any]], list[int] | None]:
    """The govern step between map and write: what the policies let through and where each
    row was in the mapped batch (`positions`: where `rows` were, None: in order); held-back
    records are kept with their rule, never values."""
    if job.governor is None:
        return rows, positions
    governor = job.governor
    governed = governor.apply(rows, job.run_id)
    if not job.dry_run:  # a dry run counts them; the real run keeps them
        if governor.planned != job.run_id:  # the stream's PII plan, once per run (explain-decision)
            add_plan(job.engine, governor.plan(job.run_id))
            governor.planned = job.run_id
        if governed.decisions:
            add_decisions(job.engine, governed.decisions)
    info.governance = job.governor.report()
    if positions is None:
        return governed.rows, governed.kept_index
    return governed.rows, [positions[i] for i in governed.kept_index]


def _refused_records(
    job: StreamJob,
    records: list[dict[str, Any]],
    mapping_dead: list[tuple[dict[str, Any], str]],
    refused: list[tuple[int, str]],
) -> list[tuple[dict[str, Any], str]]:
    """The source records behind refused rows, with the destination's reasons.

    The mapped rows are the records the mapping neither filtered out nor dead-lettered, in
    order; which ones were filtered is found by mapping each record again, alone (rare: only
    batches with a refused row get here)."""
    unmapped = {id(record) for record, _ in mapping_dead}
    wanted = dict(refused)
    found: list[tuple[dict[str, Any], str]] = []
    position = 0
    for record in records:
        if id(record) in unmapped or not job.mapping.map_batch([record]).rows:
            continue
        if position in wanted:
            found.append((record, wanted[position]))
            if len(found) == len(wanted):
                break
        position += 1
    return found


def _counts(writeback: dict[str, Any] | None) -> dict[str, Any] | None:
    return {k: v for k, v in writeback.items() if k != "samples"} if writeback else None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, HubError):
        return str(exc)
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    return f"{type(exc).__name__}: {exc}"


def _safely(fn: Callable[[], object]) -> None:
    """Clean-up after a failure must not hide the failure itself."""
    try:
        fn()
    except Exception:
        log.exception("clean-up step failed")
