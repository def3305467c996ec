"""One run per connection at a time: a lease row in the store, kept alive by a heartbeat.

Why a lease row and not PostgreSQL's advisory locks: the store is SQLite or PostgreSQL and
both need the lock; the refusal must name the holder (run, host, pid, since when), which an
advisory lock does not tell; and the heartbeat is what tells a later run (or `crossdock
runs`) that a `running` run's process is gone. An advisory lock would also pin one pooled
connection per run for hours.

A lease is taken atomically: INSERT ... ON CONFLICT DO NOTHING, or, when the row is there
and its holder is gone, a compare-and-swap UPDATE on (run_id, heartbeat). The holder is
gone when its heartbeat is older than LEASE_SECONDS, or at once when it ran on this host
and its pid is dead (a SIGKILL, an OOM kill, a crash on a full disk).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from hub.errors import HubError
from hub.processes import pid_alive
from hub.store.models import RunLease

__all__ = [
    "ConnectionBusyError",
    "Holder",
    "Lease",
    "hold",
    "acquire",
    "live_holders",
    "HEARTBEAT_SECONDS",
    "LEASE_SECONDS",
]

log = logging.getLogger(__name__)

# A holder renews every HEARTBEAT_SECONDS; one silent for LEASE_SECONDS (several missed
# beats: a store blip must not hand the connection to a second run) is taken to be dead.
HEARTBEAT_SECONDS = 15.0
LEASE_SECONDS = 120.0
HOST = socket.gethostname()


@dataclass(frozen=True)
class Holder:
    """The lease row as read: who holds the connection."""

    connection: str
    run_id: str
    host: str
    pid: int
    since: float
    heartbeat: float

    def gone(self, now: float | None = None) -> bool:
        """Its process is dead (same host) or silent for longer than the lease."""
        if (now if now is not None else time.time()) - self.heartbeat > LEASE_SECONDS:
            return True
        return self.host == HOST and not pid_alive(self.pid)

    def describe(self) -> str:
        since = datetime.fromtimestamp(self.since, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        beat = max(0.0, time.time() - self.heartbeat)
        return (
            f"run {self.run_id} (host {self.host}, pid {self.pid}) since {since}, "
            f"last heartbeat {beat:.0f} s ago"
        )


class ConnectionBusyError(HubError):
    """Another run holds the connection; the CLI exits 4 (hub/cli/common.py EXIT_BUSY)."""

    def __init__(self, connection: str, holder: Holder, waited: float | None = None) -> None:
        self.connection, self.holder = connection, holder
        waited_text = f" after waiting {waited:.0f} s" if waited else ""
        super().__init__(
            f"connection `{connection}` is busy{waited_text}: {holder.describe()} is syncing it. "
            f"Let it finish, or run `crossdock sync {connection} --wait` to start when it "
            f"ends. A holder that died is taken over by the next run (at once on host "
            f"{HOST}, after {LEASE_SECONDS:.0f} s without heartbeat from another host)."
        )


def _row(conn: Connection, connection: str) -> Holder | None:
    row = (
        conn.execute(
            select(RunLease.__table__).where(  # type: ignore[attr-defined]
                RunLease.__table__.c.connection == connection  # type: ignore[attr-defined]
            )
        )
        .mappings()
        .first()
    )
    return Holder(**row) if row else None


def _insert_if_free(conn: Connection, values: dict[str, object]) -> bool:
    table = RunLease.__table__  # type: ignore[attr-defined]
    dialect = conn.dialect.name
    if dialect in ("sqlite", "postgresql"):
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert  # type: ignore[assignment]
        stmt = insert(table).values(**values).on_conflict_do_nothing(index_elements=["connection"])
        return conn.execute(stmt).rowcount == 1
    try:  # another store: let the primary key refuse the second holder
        with conn.begin_nested():
            conn.execute(table.insert().values(**values))
        return True
    except IntegrityError:
        return False


def _try_take(engine: Engine, connection: str, run_id: str) -> tuple[Holder | None, Holder | None]:
    """(holder that keeps us out, None) or (None, the gone holder we replaced or None)."""
    for _ in range(5):  # the row may come and go between our statements
        now = time.time()
        me = dict(connection=connection, run_id=run_id, host=HOST, pid=os.getpid(), since=now, heartbeat=now)
        with engine.begin() as conn:
            if _insert_if_free(conn, me):
                return None, None
        with engine.begin() as conn:
            holder = _row(conn, connection)
            if holder is None:
                continue  # released between the insert and the read: try again
            if holder.run_id == run_id:
                return None, None  # ours already (a retried flow run of the same run)
            if not holder.gone(now):
                return holder, None
            t = RunLease.__table__  # type: ignore[attr-defined]
            taken = (
                conn.execute(
                    update(t)
                    .where(
                        t.c.connection == connection,
                        t.c.run_id == holder.run_id,
                        t.c.heartbeat == holder.heartbeat,
                    )
                    .values(**me)
                ).rowcount
                == 1
            )
            if taken:
                return None, holder
    raise HubError(
        f"could not take or read the lease of connection `{connection}` after 5 "
        "tries; the store is changing under us, run the sync again"
    )


@dataclass
class Lease:
    """A held lease; `previous` is the dead holder it replaced (its run is abandoned)."""

    engine: Engine
    connection: str
    run_id: str
    previous: Holder | None = None
    lost: bool = False
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start_heartbeat(self) -> None:
        self._thread = threading.Thread(target=self._beat, daemon=True, name=f"lease-{self.connection}")
        self._thread.start()

    def renew(self) -> bool:
        t = RunLease.__table__  # type: ignore[attr-defined]
        with self.engine.begin() as conn:
            ok = (
                conn.execute(
                    update(t)
                    .where(t.c.connection == self.connection, t.c.run_id == self.run_id)
                    .values(heartbeat=time.time())
                ).rowcount
                == 1
            )
        if not ok and not self.lost:
            self.lost = True
            log.warning(
                "run %s lost its lease on connection `%s` (silent for more than %.0f s, "
                "another run took over)",
                self.run_id,
                self.connection,
                LEASE_SECONDS,
            )
        return ok

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            try:
                self.renew()
            except Exception as exc:  # a store blip: the next beat tries again
                log.warning("heartbeat of run %s failed: %s", self.run_id, exc)

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        t = RunLease.__table__  # type: ignore[attr-defined]
        with self.engine.begin() as conn:
            conn.execute(delete(t).where(t.c.connection == self.connection, t.c.run_id == self.run_id))


def acquire(
    engine: Engine, connection: str, run_id: str, wait: float | None = 0.0, poll: float = 1.0
) -> Lease:
    """Take the connection for `run_id`; wait up to `wait` seconds (None: without limit).

    Raises ConnectionBusyError naming the holder when it is still held after `wait`."""
    started = time.monotonic()
    while True:
        holder, previous = _try_take(engine, connection, run_id)
        if holder is None:
            lease = Lease(engine, connection, run_id, previous)
            lease.start_heartbeat()
            return lease
        waited = time.monotonic() - started
        if wait is not None and waited >= wait:
            raise ConnectionBusyError(connection, holder, waited if wait else None)
        time.sleep(poll if wait is None else max(0.0, min(poll, wait - waited)))


# Leases this process holds, so a flow started by the CLI with the CLI's run id reuses the
# CLI's lease instead of refusing itself. Keyed by store URL, connection.
_HELD: dict[tuple[str, str], Lease] = {}
_HELD_LOCK = threading.Lock()


@contextmanager
def hold(
    engine: Engine, connection: str, run_id: str, wait: float | None = 0.0
) -> Iterator[tuple[Lease, bool]]:
    """Hold the connection for the block: (lease, True) when taken here, (lease, False) when
    this process already held it for `run_id`. Released at the end, even on error."""
    key = (str(engine.url), connection)
    with _HELD_LOCK:
        held = _HELD.get(key)
    if held is not None and held.run_id == run_id:
        yield held, False
        return
    lease = acquire(engine, connection, run_id, wait)
    with _HELD_LOCK:
        _HELD[key] = lease
    try:
        yield lease, True
    finally:
        with _HELD_LOCK:
            if _HELD.get(key) is lease:
                del _HELD[key]
        lease.release()


def live_holders(engine: Engine) -> dict[str, Holder]:
    """connection -> holder, for the leases whose holder is alive."""
    now = time.time()
    with engine.connect() as conn:
        rows = conn.execute(select(RunLease.__table__)).mappings().all()  # type: ignore[attr-defined]
    return {h.connection: h for h in (Holder(**r) for r in rows) if not h.gone(now)}
