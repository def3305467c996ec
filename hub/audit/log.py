"""Appending to and reading the audit log.

Appends are serialised so two writers (two flows, two processes) never fork
the chain: PostgreSQL takes a transaction-scoped advisory lock, SQLite a
`BEGIN IMMEDIATE` write lock; the unique `seq` is the last line of defence.
Inside that lock an append first checks the store's newest entry against the
head anchored outside the store (hub/audit/head.py) and refuses, with the
reason, to extend a chain that was cut off or rewritten.
Details hold counts, ids and hashes, never record values or secrets.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import String, Text, func, insert, select, text, type_coerce
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import Select
from sqlmodel import col

from hub.audit.chain import AuditIntegrityError, VerifyReport, entry_hash, verify_entries
from hub.audit.head import Head, HeadFile
from hub.audit.models import AuditEvent
from hub.errors import ConfigError
from hub.redaction import redact_obj
from hub.secrets.keys import Keyring
from hub.store.models import utcnow

__all__ = ["AuditLog", "ACKNOWLEDGE_HOWTO"]

_PG_LOCK_ID = 0x43524F53  # "CROS": one advisory lock for the audit chain
ACKNOWLEDGE_HOWTO = (
    "`crossdock audit verify` shows the whole picture; once the loss is understood (a restore "
    'from backup, say), `crossdock audit acknowledge --reason "..."` records it in the log and '
    "anchors the current head (docs/runbook.md)"
)

# Read `at` and `details` as the database holds them: a hand-edited row on SQLite may hold
# text that is not a date or not JSON, which must be reported as tampering, not crash the read.
_COLUMNS = (
    col(AuditEvent.seq),
    type_coerce(col(AuditEvent.at), String).label("at"),
    col(AuditEvent.actor),
    col(AuditEvent.action),
    col(AuditEvent.target),
    type_coerce(col(AuditEvent.details), Text).label("details"),
    col(AuditEvent.prev_hash),
    col(AuditEvent.key_version),
    col(AuditEvent.entry_hash),
)
# Two queries every append makes, as text: built once, they skip SQLAlchemy's per-call statement
# building and cache-key work (a busy writer, the read API, runs them for every batch).
_LAST = text("SELECT id, seq, entry_hash FROM audit_events ORDER BY seq DESC LIMIT 1")
_HASH_AT = text("SELECT entry_hash FROM audit_events WHERE seq = :seq")
_INSERT = insert(AuditEvent)
_Last = tuple[Any, Any, Any]  # (row id, seq, entry_hash) of the newest row, as stored


class AuditLog:
    def __init__(
        self,
        engine: Engine,
        keyring: Keyring,
        head_file: Path | None = None,
        reload: Callable[[], Keyring] | None = None,
    ) -> None:
        self.engine, self.keyring, self._reload = engine, keyring, reload
        self.head_file = HeadFile(head_file) if head_file else None
        self.store = engine.url.render_as_string(hide_password=True)  # the key of its head
        # (seq, entry_hash) of the newest entry this object wrote or verified: an anchor in
        # memory, ahead of the head file's (which trails a busy writer by one fsync), so each
        # append re-verifies only the entries other writers added since, not its own again.
        self._known: tuple[int, str] | None = None

    def append(
        self,
        action: str,
        *,
        actor: str = "crossdock",
        target: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        for attempt in range(5):
            try:
                with self.engine.connect() as conn:
                    last = self._begin(conn)
                    entry = self._insert(conn, last, action, actor, target, details)
                    conn.commit()
                self._anchor(entry)
                return entry
            except IntegrityError:  # another writer took this seq first: read the head again
                if attempt == 4:
                    raise
        raise AssertionError("unreachable")

    def append_many(
        self, entries: Sequence[tuple[str, str, str | None, dict[str, Any]]], *, anchor: bool = True
    ) -> list[dict[str, Any]]:
        """Several (action, actor, target, details) entries in one transaction: one lock, one
        head check, one insert, one anchor. A busy reader (the read API) audits every access
        this way, with `anchor=False` and its own thread calling `anchor` with the newest entry
        (the head file's fsync then trails the store instead of holding up the next batch)."""
        for attempt in range(5):
            try:
                written: list[dict[str, Any]] = []
                with self.engine.connect() as conn:
                    last = self._begin(conn)
                    for action, actor, target, details in entries:
                        entry = self._entry(last, action, actor, target, details)
                        last = (None, entry["seq"], entry["entry_hash"])
                        written.append(entry)
                    if written:
                        conn.execute(_INSERT, written)
                    conn.commit()
                if written:
                    self._known = (written[-1]["seq"], written[-1]["entry_hash"])
                if written and anchor:
                    self._anchor(written[-1])
                return written
            except IntegrityError:  # another writer took a seq first: read the head again
                if attempt == 4:
                    raise
        raise AssertionError("unreachable")

    def anchor(self, entry: dict[str, Any]) -> None:
        """Anchor the head at `entry` (one `append_many(..., anchor=False)` wrote), unless a
        later one is anchored already."""
        self._anchor(entry)

    @contextmanager
    def recording(
        self,
        action: str,
        *,
        actor: str = "crossdock",
        target: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> Iterator[Connection]:
        """A change and its audit entry in one transaction: both are committed, or neither.

        Yields the connection to make the change on. The log is checked first, so a change
        whose entry could not be written is never made; raising inside rolls back both.
        """
        with self.engine.connect() as conn:
            last = self._begin(conn)
            yield conn
            entry = self._insert(conn, last, action, actor, target, details)
            conn.commit()
        self._anchor(entry)

    def check(self) -> None:
        """Raise AuditIntegrityError if an append now would refuse (for work that cannot
        share the entry's transaction, e.g. rewriting the key file)."""
        with self.engine.connect() as conn:
            self._begin(conn)
            conn.rollback()

    def acknowledge(self, reason: str, *, actor: str = "cli") -> dict[str, Any] | None:
        """Record why the head does not match its anchor, and anchor the current head.

        Returns the `audit.acknowledge` entry, or None when there was nothing to acknowledge.
        """
        if self.head_file is None:
            raise ConfigError("this audit log has no head file to anchor")
        with self.engine.connect() as conn:
            self._lock(conn)
            try:
                anchor, problem = self.head_file.read(self.keyring, self.store), ""
            except AuditIntegrityError as exc:
                anchor, problem = None, str(exc)
            last = self._last(conn)
            unreadable = _unreadable(last)
            if unreadable:
                raise AuditIntegrityError(f"cannot acknowledge: {unreadable}")
            problem = problem or self._head_problem(conn, last, anchor)
            if not problem:
                return None
            details = {
                "reason": reason,
                "problem": problem,
                "anchored": {"seq": anchor.seq, "entry_hash": anchor.entry_hash, "at": anchor.at}
                if anchor
                else None,
                "found": {"seq": last[1], "entry_hash": last[2]} if last else None,
            }
            entry = self._insert(conn, last, "audit.acknowledge", actor, None, details)
            conn.commit()
        self.head_file.reset(self.keyring, self.store, entry["seq"], entry["entry_hash"])
        return entry

    def _begin(self, conn: Connection) -> _Last | None:
        """Lock the chain and check its head; refuse (AuditIntegrityError) if it does not hold."""
        self._lock(conn)
        try:
            return self._checked_head(conn)
        except AuditIntegrityError:
            # Another process may have rotated the key since we loaded it, and signed the head
            # or newer entries with the new version: look again once with the key file's keys.
            fresh = self._reload() if self._reload is not None else self.keyring
            if fresh.keys == self.keyring.keys:
                raise
            self.keyring = fresh
            return self._checked_head(conn)

    def _checked_head(self, conn: Connection) -> _Last | None:
        anchor = None
        if self.head_file is not None:
            try:
                anchor = self.head_file.read(self.keyring, self.store)
            except AuditIntegrityError as exc:
                raise AuditIntegrityError(f"refusing to write to the audit log: {exc}") from None
        last = self._last(conn)
        problem = _unreadable(last) or self._head_problem(conn, last, anchor)
        if problem:
            raise AuditIntegrityError(f"refusing to write to the audit log: {problem}. {ACKNOWLEDGE_HOWTO}")
        return last

    def _head_problem(self, conn: Connection, last: _Last | None, anchor: Head | None) -> str:
        if self.head_file is None:
            return ""
        if anchor is None:
            if last is None:
                return ""
            # No anchor for this store on this machine yet (first run after an upgrade, a new
            # worker): trust the chain only if all of it verifies, then anchor it.
            report = verify_entries(self.keyring, self._rows(conn, select(*_COLUMNS)))
            return (
                ""
                if report.ok
                else (
                    f"it does not verify ({report.problem}) and {self.head_file.path} holds no head "
                    "for it yet"
                )
            )
        current = (last[1], last[2]) if last else None
        problem = anchor_problem(anchor, current, lambda seq: self._hash_at(conn, seq))
        if problem:
            return problem
        # Entries other writers added since this machine's anchor must hold too (from the newer
        # anchor in memory, if its row still holds the hash it had).
        seq, prev = anchor.seq, anchor.entry_hash
        known = self._known
        if known is not None and current == known:
            return ""  # the newest entry is the one this object wrote or verified last: none since
        if known is not None and known[0] > seq and self._hash_at(conn, known[0]) == known[1]:
            seq, prev = known
        after = select(*_COLUMNS).where(col(AuditEvent.seq) > seq)
        report = verify_entries(self.keyring, self._rows(conn, after), start_seq=seq + 1, prev_hash=prev)
        if report.ok and last is not None and last[1] > seq:
            self._known = (last[1], last[2])
        return "" if report.ok else f"entries after the anchored head do not hold: {report.problem}"

    def _insert(
        self,
        conn: Connection,
        last: _Last | None,
        action: str,
        actor: str,
        target: str | None,
        details: dict[str, Any] | None,
    ) -> dict[str, Any]:
        entry = self._entry(last, action, actor, target, details)
        conn.execute(insert(AuditEvent).values(**entry))
        return entry

    def _entry(
        self, last: _Last | None, action: str, actor: str, target: str | None, details: dict[str, Any] | None
    ) -> dict[str, Any]:
        """The next entry after `last`, chained and signed (not yet written)."""
        entry: dict[str, Any] = {
            "seq": last[1] + 1 if last else 1,
            "at": utcnow(),
            "actor": actor,
            "action": action,
            "target": target,
            "details": redact_obj(details or {}),
            "prev_hash": last[2] if last else "",
            "key_version": self.keyring.primary,
        }
        entry["entry_hash"] = entry_hash(self.keyring, entry)
        return entry

    def _anchor(self, entry: dict[str, Any]) -> None:
        if self.head_file is not None:
            self.head_file.advance(self.keyring, self.store, entry["seq"], entry["entry_hash"])

    def _lock(self, conn: Connection) -> None:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK_ID})")
        elif conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    @staticmethod
    def _last(conn: Connection) -> _Last | None:
        row = conn.execute(_LAST).first()
        return (row[0], row[1], row[2]) if row else None

    @staticmethod
    def _hash_at(conn: Connection, seq: int) -> str | None:
        return conn.execute(_HASH_AT, {"seq": seq}).scalar()

    @staticmethod
    def _rows(conn: Connection, query: Select[Any]) -> Iterator[dict[str, Any]]:
        for row in conn.execute(query.order_by(col(AuditEvent.seq))):
            yield _as_entry(row)

    def head(self) -> Head | None:
        """The store's newest entry as a head (None for an empty log)."""
        with self.engine.connect() as conn:
            last = self._last(conn)
        return Head(last[1], last[2], where="the store") if last else None

    def anchored(self) -> Head | None:
        """The head this machine anchored for this store (None if none yet)."""
        return self.head_file.read(self.keyring, self.store) if self.head_file else None

    def entries(
        self,
        *,
        since: datetime | None = None,
        action: str | None = None,
        actor: str | None = None,
        target: str | None = None,
        last: int | None = None,
        until_seq: int | None = None,
    ) -> list[dict[str, Any]]:
        """Entries in seq order. `since` starts at the first entry at or after that time and
        keeps every later one, so the stretch stays a chain even if clocks disagreed."""
        query = select(*_COLUMNS)
        if since:
            since = since if since.tzinfo else since.replace(tzinfo=UTC)  # a date given as UTC
            first = select(func.min(col(AuditEvent.seq))).where(col(AuditEvent.at) >= since)
            query = query.where(col(AuditEvent.seq) >= first.scalar_subquery())
        if until_seq is not None:
            query = query.where(col(AuditEvent.seq) <= until_seq)
        if action:
            query = query.where(col(AuditEvent.action) == action)
        if actor:
            query = query.where(col(AuditEvent.actor) == actor)
        if target:
            query = query.where(col(AuditEvent.target).startswith(target))
        if last:
            query = query.order_by(col(AuditEvent.seq).desc()).limit(last)
        with self.engine.connect() as conn:
            rows = [_as_entry(r) for r in conn.execute(query)]
        return sorted(rows, key=_seq_order)

    def verify(self, anchors: Sequence[Head] = ()) -> VerifyReport:
        """Walk the whole chain, then check it still reaches this machine's anchored head and
        any other `anchors` (e.g. an export's): deleting the newest entries is found."""
        try:
            own = self.anchored()
        except AuditIntegrityError as exc:
            return VerifyReport(False, 0, None, str(exc))
        heads = [*([own] if own else []), *anchors]
        wanted, seen = {h.seq for h in heads}, {}

        def walk(conn: Connection) -> Iterator[dict[str, Any]]:
            for entry in self._rows(conn, select(*_COLUMNS)):
                if entry["seq"] in wanted:
                    seen[entry["seq"]] = entry["entry_hash"]
                yield entry

        with self.engine.connect() as conn:
            report = verify_entries(self.keyring, walk(conn))
        if not report.ok:
            return report
        for head in heads:
            problem = anchor_problem(head, report.last, seen.get)
            if problem:
                first_bad = min(head.seq, report.last[0] + 1 if report.last else 1)
                return VerifyReport(
                    False, report.checked, first_bad, f"the log was cut or rewritten: {problem}", report.last
                )
        if own is None and self.head_file is not None and report.checked:
            report.note = (
                f"{self.head_file.path} holds no head for this store yet, so entries "
                "cut off the end would not be seen; the next append anchors it"
            )
        return report


def anchor_problem(anchor: Head, last: tuple[int, str] | None, hash_at: Callable[[int], str | None]) -> str:
    """Why a log whose newest entry is `last` does not reach `anchor` ("" if it does)."""
    where = f"{anchor.where} anchored entry {anchor.seq}" + (f" at {anchor.at}" if anchor.at else "")
    if anchor.seq == 0:
        return ""
    if last is None:
        return f"the log is empty, but {where}: every entry was deleted"
    if last[0] < anchor.seq:
        cut = (
            f"entry {anchor.seq} was"
            if last[0] + 1 == anchor.seq
            else f"entries {last[0] + 1} to {anchor.seq} were"
        )
        return f"the log ends at entry {last[0]}, but {where}: {cut} cut off the end"
    if hash_at(anchor.seq) != anchor.entry_hash:
        return f"entry {anchor.seq} is not the one {where}: the log was rewritten from there"
    return ""


def _unreadable(last: _Last | None) -> str:
    if last is None or (
        isinstance(last[1], int) and not isinstance(last[1], bool) and isinstance(last[2], str)
    ):
        return ""
    return (
        f"its newest row (id {last[0]}) has seq {last[1]!r}, which the hub never writes: the "
        "table was edited by hand; restore audit_events from a backup"
    )


def _as_entry(row: Any) -> dict[str, Any]:
    entry = dict(row._mapping)
    if isinstance(entry["at"], str):  # SQLite keeps text; PostgreSQL returns a datetime
        try:
            entry["at"] = datetime.fromisoformat(entry["at"])
        except ValueError:
            pass  # left as found: verify reports the entry as tampered
    if isinstance(entry["at"], datetime):  # stored as UTC, with or without its offset
        at = entry["at"]
        entry["at"] = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    if isinstance(entry["details"], str):
        try:
            entry["details"] = json.loads(entry["details"])
        except ValueError:
            pass
    return entry


def _seq_order(entry: dict[str, Any]) -> tuple[int, Any]:
    seq = entry["seq"]
    return (0, seq) if isinstance(seq, int | float) else (1, str(seq))
