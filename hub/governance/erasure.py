"""Erasure (right to be forgotten): `crossdock erase EMAIL|PROFILE_ID`.

1. Find the person: their profile(s), every address and phone stitching knew them by,
   the records that were joined into them and the events on their timeline.
2. Tombstone them first (hub/governance/tombstones.py), so a sync, stitch or write-back
   that runs meanwhile already leaves them out.
3. Ask each SaaS system to delete them through its own deletion API: every write-back
   connection, and the systems listed under `governance.erasure.systems`. One system
   failing does not stop the others; the report says which to retry.
4. Delete them from every warehouse table (synced tables, the tables write-backs read,
   the profile tables), from the hub store's identity state, dead letters and
   write-back snapshots.
5. Audit it: the subject's tombstone digest, counts and per-system statuses, never an
   address.

A dry run finds the person and counts what each step would delete, calls no API and
changes nothing.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import re
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.engine import Engine

from hub.connections import destination_config, writeback_for
from hub.context import HubContext
from hub.destinations import SqlDestination, open_destination
from hub.errors import ConfigError, HubError
from hub.governance.tombstones import add_tombstones, digest, tombstone_key
from hub.redaction import redact, register_secret
from hub.workspace import Workspace, resolve_sqlite_url
from hub.writeback import ErasureOutcome, ErasureSubject, WritebackApi
from hub.writeback.config import validate_config
from hub.writeback.registry import writeback_class

__all__ = ["ErasureReport", "SystemResult", "erase_person"]

_CHUNK = 500
_PROFILE_TABLES = (
    "profiles",
    "profile_identifiers",
    "profile_records",
    "profile_timeline",
    "profile_redirects",
)


@dataclass
class _Person:
    """What the hub knows the person by: held in memory for the request, never stored."""

    emails: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    profiles: set[str] = field(default_factory=set)
    records: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # source -> ids
    events: set[tuple[str, str, str]] = field(default_factory=set)  # (table, source, source id)

    def record_keys(self) -> list[str]:
        return sorted(f"{s}:{i}" for s, ids in self.records.items() for i in ids)

    def matchers(self, table: str) -> list[dict[str, Sequence[Any]]]:
        """The ways a row of `table` can be the person's (for SqlDestination.delete_where)."""
        alts: list[dict[str, Sequence[Any]]] = [{"email": sorted(self.emails)}]
        for source, ids in sorted(self.records.items()):
            alts.append({"source": [source], "source_id": sorted(ids)})
            alts.append({"source": [source], "contact_id": sorted(ids)})  # events naming them
        by_source: dict[str, list[str]] = defaultdict(list)
        for t, source, sid in self.events:
            if t == table:
                by_source[source].append(sid)
        alts += [{"source": [s], "source_id": sorted(ids)} for s, ids in sorted(by_source.items())]
        alts.append({"profile_id": sorted(self.profiles)})
        alts.append({"old_profile_id": sorted(self.profiles)})
        return alts


@dataclass
class SystemResult:
    name: str
    type: str
    status: str  # deleted | not_found | requested | failed | unsupported | would_ask (dry run)
    detail: str = ""
    deleted: int = 0

    @property
    def retry(self) -> bool:
        return self.status == "failed"


@dataclass
class ErasureReport:
    request_id: str
    dry_run: bool
    subject: str  # the tombstone digest of what was asked for (first 16 hex), never the value
    profiles: int = 0
    emails: int = 0
    records: int = 0
    warehouse: dict[str, int] = field(default_factory=dict)  # "<warehouse>/<table>" -> rows
    store: dict[str, int] = field(default_factory=dict)  # hub store table -> rows
    systems: list[SystemResult] = field(default_factory=list)
    tombstones: int = 0

    @property
    def retry(self) -> list[str]:
        return [s.name for s in self.systems if s.retry]

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "retry": self.retry}


def erase_person(
    ctx: HubContext, who: str, *, dry_run: bool = False, only: set[str] | None = None
) -> ErasureReport:
    ws = ctx.workspace()
    key = ctx.keyring.pseudonym_key()
    who = who.strip()
    if not who:
        raise ConfigError("name the person to erase: an email address or a profile id")
    asked = digest(tombstone_key(key), "email" if "@" in who else "profile", who)[:16]
    systems = _systems(ctx, ws)
    unknown = sorted((only or set()) - {name for name, _, _ in systems})
    if unknown:
        known = ", ".join(name for name, _, _ in systems) or "none"
        raise ConfigError(f"--only names no erasure system {', '.join(unknown)}; systems: {known}")
    person = _find(ctx, ws, who)
    for value in person.emails:
        register_secret(value)  # masked in every log line and message from here on
    report = ErasureReport(
        request_id=uuid.uuid4().hex[:12],
        dry_run=dry_run,
        subject=asked,
        profiles=len(person.profiles),
        emails=len(person.emails),
        records=sum(len(ids) for ids in person.records.values()),
    )
    snapshots = _snapshot_rows(ctx.engine, key, person)
    remote: dict[str, set[str]] = defaultdict(set)
    for destination, remote_id in snapshots:
        conn = ws.connections.get(destination.split("/", 1)[0])
        if conn is not None and remote_id:
            remote[conn.destination.type].add(remote_id)
    if not dry_run:
        report.tombstones = add_tombstones(
            ctx.engine,
            key,
            report.request_id,
            {"email": person.emails, "record": person.record_keys(), "profile": person.profiles},
        )
    subject = ErasureSubject(
        emails=tuple(sorted(person.emails)),
        phones=tuple(sorted(person.phones)),
        ids={s: tuple(sorted(ids | remote.get(s, set()))) for s, ids in person.records.items()}
        | {s: tuple(sorted(ids)) for s, ids in remote.items() if s not in person.records},
    )
    for name, type_, build in systems:
        if only is not None and name not in only:
            continue
        report.systems.append(_ask(name, type_, build, subject, person, dry_run))
    report.warehouse = _clean_warehouse(ctx, ws, person, dry_run)
    report.store = _clean_store(ctx.engine, key, person, dry_run)
    ctx.audit.append(
        "erasure.dry_run" if dry_run else "erasure.request",
        target=f"subject:{asked}",
        details={
            "request_id": report.request_id,
            "profiles": report.profiles,
            "records": report.records,
            "warehouse": report.warehouse,
            "store": report.store,
            "systems": {s.name: {"status": s.status, "deleted": s.deleted} for s in report.systems},
            "retry": report.retry,
            "tombstones": report.tombstones,
        },
    )
    return report


# -- who is it -------------------------------------------------------------------------
def _profile_store(ctx: HubContext, ws: Workspace) -> SqlDestination | None:
    from hub.identity.run import profile_destination

    try:
        dest, _ = profile_destination(ctx, ws)
    except ConfigError:
        return None  # no contact stream: nothing was ever stitched
    return dest


def _find(ctx: HubContext, ws: Workspace, who: str) -> _Person:
    from hub.identity.run import resolve_profile_id

    person = _Person()
    dest = _profile_store(ctx, ws)
    try:
        stitched = dest is not None and dest.has_table("profile_identifiers")
        if "@" in who:
            person.emails.add(who.lower())
            if stitched and dest is not None:
                for row in dest.read_rows(
                    "profile_identifiers", where={"type": "email", "value": who.lower()}
                ):
                    person.profiles.add(str(row["profile_id"]))
        else:
            pid = resolve_profile_id(ctx, who)
            if not (stitched and dest is not None and dest.read_rows("profiles", where={"profile_id": pid})):
                raise HubError(
                    f"no profile `{who}` (run `crossdock profiles show EMAIL` to find the id, or "
                    "erase by email address)"
                )
            person.profiles.add(pid)
        if stitched and dest is not None:
            for pid in sorted(person.profiles):
                for row in dest.read_rows("profile_identifiers", where={"profile_id": pid}):
                    (person.emails if row["type"] == "email" else person.phones).add(
                        str(row["value"]).lower()
                    )
                for row in dest.read_rows("profile_records", where={"profile_id": pid}):
                    person.records[str(row["source"])].add(str(row["source_id"]))
                if dest.has_table("profile_timeline"):
                    for row in dest.read_rows("profile_timeline", where={"profile_id": pid}):
                        source, _, rest = str(row["record_key"]).partition(":")
                        sid = rest.partition(":")[2] or rest
                        if row.get("stream"):
                            person.events.add((str(row["stream"]), source, sid))
    finally:
        if dest is not None:
            dest.close()
    person.phones -= {p for p in person.phones if "@" in p}
    return person


# -- the SaaS systems ------------------------------------------------------------------
Builder = Callable[[], WritebackApi]


def _systems(ctx: HubContext, ws: Workspace) -> list[tuple[str, str, Builder]]:
    """Every write-back connection, then each `governance.erasure.systems` entry."""
    found: list[tuple[str, str, Builder]] = []
    for conn in ws.connections.values():
        if conn.writes_back:
            found.append((conn.name, conn.destination.type, functools.partial(writeback_for, ctx, conn)))
    for name, system in ws.governance.erasure.systems.items():

        def build(name: str = name, type_: str = system.type, config: Any = system.config) -> WritebackApi:
            where = ("governance", "erasure", "systems", name, "config")
            resolved = ctx.resolve(
                config, where=".".join(where), secret=lambda s: ctx.secret(s, used_by=f"erasure:{name}")
            )
            cls = writeback_class(ctx.workspace_dir, type_)
            api: WritebackApi = cls(
                validate_config(cls.Config, resolved, connector=type_, file=ctx.workspace_file, loc=where)
            )
            for value in api.secret_values():
                register_secret(value)
            return api

        found.append((name, system.type, build))
    return found


def _ask(
    name: str, type_: str, build: Builder, subject: ErasureSubject, person: _Person, dry_run: bool
) -> SystemResult:
    if dry_run:
        known = sum(len(v) for v in subject.ids.values())
        return SystemResult(
            name, type_, "would_ask", f"{len(subject.emails)} email(s), {known} known id(s); no call made"
        )
    api: WritebackApi | None = None
    try:
        api = build()
        outcome = api.erase(subject)
    except HubError as exc:  # config, credentials, an API that failed past its retries
        outcome = ErasureOutcome("failed", str(exc))
    finally:
        if api is not None:
            api.close()
    return SystemResult(name, type_, outcome.status, _scrub(outcome.detail, person), outcome.deleted)


def _scrub(text: str, person: _Person) -> str:
    for value in sorted(person.emails | person.phones, key=len, reverse=True):
        text = re.sub(re.escape(value), "<person>", text, flags=re.IGNORECASE)
    return redact(text)


# -- the warehouse -----------------------------------------------------------------------
def _tables(ctx: HubContext, ws: Workspace) -> dict[str, tuple[dict[str, Any], set[str]]]:
    """warehouse url -> (destination config, tables that may hold people)."""
    out: dict[str, tuple[dict[str, Any], set[str]]] = {}

    def add(config: dict[str, Any], tables: set[str]) -> None:
        entry = out.setdefault(str(config["url"]), (config, set()))
        entry[1].update(tables)

    for conn in ws.connections.values():
        if conn.writes_back and conn.source.warehouse:
            url = ctx.resolve(
                conn.source.warehouse,
                where=f"connections.{conn.name}.source.warehouse",
                secret=functools.partial(_secret, ctx, conn.name),
            )
            add({"url": resolve_sqlite_url(url, ctx.workspace_dir)}, set(conn.streams))
        elif conn.destination.type == "sql":
            add(destination_config(ctx, conn), {conn.table_for(s) for s in conn.streams})
    return out


def _secret(ctx: HubContext, used_by: str, name: str) -> str:
    return ctx.secret(name, used_by=used_by)


def _clean_warehouse(ctx: HubContext, ws: Workspace, person: _Person, dry_run: bool) -> dict[str, int]:
    counts: dict[str, int] = {}
    for url, (config, tables) in _tables(ctx, ws).items():
        dest = open_destination("sql", config)
        try:
            # The profile tables are cleaned below, where stitching writes them (a write-back
            # reading `profiles` names the same table: counted once).
            for table in sorted(tables - set(_PROFILE_TABLES)):
                n = dest.delete_where(table, any_of=person.matchers(table), dry_run=dry_run)
                if n:
                    counts[f"{_label(url)}/{table}"] = n
        finally:
            dest.close()
    profiles = _profile_store(ctx, ws)  # where stitching writes the profile tables
    if profiles is not None:
        try:
            for table in _PROFILE_TABLES:
                n = profiles.delete_where(table, any_of=person.matchers(table), dry_run=dry_run)
                if n:
                    counts[f"profiles/{table}"] = n
        finally:
            profiles.close()
    return counts


def _label(url: str) -> str:
    from hub.redaction import display_url

    return display_url(url).rsplit("/", 1)[-1] or "warehouse"


# -- the hub store -----------------------------------------------------------------------
def _snapshot_rows(engine: Engine, key: bytes, person: _Person) -> list[tuple[str, str | None]]:
    """(destination, remote id) of what write-back sent the person."""
    from hub.writeback.state import WritebackSnapshot

    t = WritebackSnapshot.__table__  # type: ignore[attr-defined]
    found = []
    with engine.connect() as conn:
        for cond in _snapshot_conditions(t, key, person):
            found += [(d, r) for d, r in conn.execute(select(t.c.destination, t.c.remote_id).where(cond))]
    return found


def _snapshot_conditions(t: Any, key: bytes, person: _Person) -> Iterator[Any]:
    # The snapshot keeps a keyed hash of the match key (an email, for the people write-backs)
    # and the warehouse row's key: "crossdock:<profile id>" for profiles, "<source>:<id>".
    hashes = [hmac.new(key, e.encode(), hashlib.blake2b).hexdigest()[:32] for e in sorted(person.emails)]
    refs = [f"crossdock:{p}" for p in sorted(person.profiles)] + person.record_keys()
    for i in range(0, len(hashes), _CHUNK):
        yield t.c.key_hash.in_(hashes[i : i + _CHUNK])
    for i in range(0, len(refs), _CHUNK):
        yield t.c.record_ref.in_(refs[i : i + _CHUNK])


def _clean_store(engine: Engine, key: bytes, person: _Person, dry_run: bool) -> dict[str, int]:
    from hub.identity.state import (
        IdentityAssignment,
        IdentityDecision,
        IdentityLinkRow,
        IdentityRedirect,
        IdentityRefusalRow,
        IdentitySplit,
    )
    from hub.store.models import DeadLetter
    from hub.writeback.state import WritebackSnapshot

    keys, pids = person.record_keys(), sorted(person.profiles)

    def tbl(model: Any) -> Any:
        return model.__table__

    plans: list[tuple[str, Any, list[Any]]] = [
        (
            "identity_assignments",
            tbl(IdentityAssignment),
            [tbl(IdentityAssignment).c.record_key.in_(keys), tbl(IdentityAssignment).c.profile_id.in_(pids)],
        ),
        (
            "identity_links",
            tbl(IdentityLinkRow),
            [tbl(IdentityLinkRow).c.record_a.in_(keys), tbl(IdentityLinkRow).c.record_b.in_(keys)],
        ),
        (
            "identity_refusals",
            tbl(IdentityRefusalRow),
            [tbl(IdentityRefusalRow).c.record_a.in_(keys), tbl(IdentityRefusalRow).c.record_b.in_(keys)],
        ),
        ("identity_splits", tbl(IdentitySplit), [tbl(IdentitySplit).c.record_key.in_(keys)]),
        (
            "identity_decisions",
            tbl(IdentityDecision),
            [tbl(IdentityDecision).c.record_a.in_(keys), tbl(IdentityDecision).c.record_b.in_(keys)],
        ),
        (
            "identity_redirects",
            tbl(IdentityRedirect),
            [tbl(IdentityRedirect).c.old_id.in_(pids), tbl(IdentityRedirect).c.profile_id.in_(pids)],
        ),
        (
            "writeback_snapshots",
            tbl(WritebackSnapshot),
            list(_snapshot_conditions(tbl(WritebackSnapshot), key, person)),
        ),
    ]
    counts: dict[str, int] = {}
    with engine.begin() as conn:
        for name, table, conds in plans:
            if not conds:
                continue
            cond = or_(*conds)
            if dry_run:
                n = len(conn.execute(select(*table.primary_key.columns).where(cond)).all())
            else:
                n = int(conn.execute(delete(table).where(cond)).rowcount or 0)
            if n:
                counts[name] = n
        gone = _dead_letters(conn, key, person, tbl(DeadLetter))
        if gone:
            if not dry_run:
                for i in range(0, len(gone), _CHUNK):
                    conn.execute(
                        delete(tbl(DeadLetter)).where(tbl(DeadLetter).c.id.in_(gone[i : i + _CHUNK]))
                    )
            counts["dead_letters"] = len(gone)
    return counts


def _dead_letters(conn: Any, key: bytes, person: _Person, table: Any) -> list[int]:
    """Dead letters holding the person: their personal data is masked there as
    "pii:<keyed hash>" (hub/mapping/compiler.py), so the person's values are hashed alike."""
    values: set[str] = set()
    for email in person.emails:
        values |= {email, email.upper(), email.capitalize()}
    values |= person.phones
    tokens = ["pii:" + hmac.new(key, v.encode(), hashlib.sha256).hexdigest()[:16] for v in values]
    if not tokens:
        return []
    found = []
    for row_id, record in conn.execute(select(table.c.id, table.c.record)):
        text = record if isinstance(record, str) else json.dumps(record)
        if any(t in text for t in tokens):
            found.append(int(row_id))
    return found
