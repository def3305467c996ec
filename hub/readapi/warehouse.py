"""The read API's queries over the warehouse: the profile tables and each entity's tables.

Each query is one indexed lookup (profile by id, identifiers by email, a profile's timeline;
the indexes are declared with the profile tables in hub/identity/run.py) or one keyset page
(an entity's rows after a cursor), never a scan per request. Names go through `ident`, values
as parameters. A Warehouse is used from one thread (SQLite connections are per thread).
"""

from __future__ import annotations

import heapq
import time
from collections import defaultdict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hub.canonical import ENTITIES, FieldType
from hub.connections import destination_config
from hub.context import HubContext
from hub.destinations import SqlDestination, open_destination
from hub.destinations._sql_types import from_sql_value
from hub.destinations.sql_base import ident
from hub.errors import HubError
from hub.identity.run import profile_destination
from hub.mapping import load_mapping
from hub.redaction import display_url
from hub.workspace.locate import mapping_file

__all__ = ["Warehouse", "NotReady", "EntityRow", "CHANGED_AT", "open_warehouse"]

# The column an entity page is ordered and filtered by: when the hub last wrote the row (every
# synced row has it; a change at the source moves it on the next sync, a late one included).
CHANGED_AT = "_cd_extracted_at"
_IN_CHUNK = 500  # values per IN (...) list
_RECHECK = 5.0  # seconds before a missing table is looked for again


class NotReady(HubError):
    """The warehouse has no such table yet (nothing synced or stitched): a 503 saying what to run."""


@dataclass(frozen=True)
class EntityRow:
    order: tuple[str, str, str, str]  # (changed_at iso, source, source_id, table): the page order
    row: dict[str, Any]


@dataclass(frozen=True)
class _Table:
    dest: SqlDestination
    name: str


class Warehouse:
    def __init__(
        self, profiles: SqlDestination, tables: dict[str, list[_Table]], same_db: Collection[str] = ()
    ) -> None:
        """`same_db`: the names of entity tables that live in the profile tables' database."""
        self.db, self.tables = profiles, tables
        # A profile and its consent records in one statement, when the one consent table is in
        # the profile tables' database (else `profile_with_consents` says so and the policy
        # reads them as `consents` does)
        consent = tables.get("consent", [])
        self._joined: tuple[str, _Table] | None = None
        if len(consent) == 1 and consent[0].name in same_db and profiles.engine.name in _POSITION:
            self._joined = (_joined_sql(profiles, consent[0]), consent[0])
        self._types: dict[tuple[int, str], dict[str, FieldType | None]] = {}
        # (table, its columns in a query) -> one decoder per column: made once, not per row set
        self._decoders: dict[tuple[int, str, tuple[str, ...]], list[Callable[[Any], Any]]] = {}
        self._missing: dict[tuple[int, str], float] = {}  # table -> when it was found missing

    # -- plumbing -------------------------------------------------------------------------
    def _rows(
        self, dest: SqlDestination, table: str, sql: str, params: Sequence[Any]
    ) -> list[dict[str, Any]]:
        """Rows of a query on one table, values decoded as the hub wrote them."""
        types = self._types.get((id(dest), table))
        if types is None:
            types = dest.column_types(table)
            if not types:
                raise NotReady(f"the warehouse has no table `{table}` yet: {_HOWTO.get(table, _SYNC)}")
            self._types[(id(dest), table)] = types
        names, rows = dest.query(sql, params)
        key = (id(dest), table, tuple(names))
        decode = self._decoders.get(key)
        if decode is None:
            decode = self._decoders[key] = [_decoder(dest, types.get(n)) for n in names]
        return [{n: d(v) for n, d, v in zip(names, decode, row, strict=True)} for row in rows]

    def _in(self, values: Sequence[Any]) -> str:
        return ", ".join([self.db.placeholder] * len(values))

    # -- profiles --------------------------------------------------------------------------
    def profile(self, profile_id: str) -> dict[str, Any] | None:
        p = self.db.placeholder
        rows = self._rows(
            self.db,
            "profiles",
            f"SELECT * FROM {self.db.table_ref('profiles')} WHERE profile_id = {p}",
            [profile_id],
        )
        return rows[0] if rows else None

    def profile_with_consents(
        self, profile_id: str
    ) -> tuple[dict[str, Any] | None, list[tuple[str, str, Any]] | None]:
        """The profile's row and the (purpose, event, occurred_at) of its consent records, in
        one statement; (row, None) when they cannot be read in one (use `consents`)."""
        if self._joined is None:
            return self.profile(profile_id), None
        sql, t = self._joined
        rows = self._rows(self.db, "profiles", sql, [t.name, profile_id])
        if not rows:
            return None, []
        consent_types = self._types.get((id(t.dest), t.name))
        if consent_types is None:
            consent_types = self._types[(id(t.dest), t.name)] = t.dest.column_types(t.name)
        when = _decoder(t.dest, consent_types.get("occurred_at"))
        consents = [
            (str(r["__consent_purpose"] or "").lower(), str(r["__consent_event"]), when(r["__consent_at"]))
            for r in rows
            if r["__consent_event"] is not None
        ]
        row = {k: v for k, v in rows[0].items() if not k.startswith("__consent_")}
        return row, consents

    def redirect(self, profile_id: str) -> str | None:
        """The profile an id was merged into (None: never merged)."""
        if not self._has(self.db, "profile_redirects"):
            return None
        rows = self._rows(
            self.db,
            "profile_redirects",
            f"SELECT profile_id FROM {self.db.table_ref('profile_redirects')} "
            f"WHERE old_profile_id = {self.db.placeholder}",
            [profile_id],
        )
        return str(rows[0]["profile_id"]) if rows else None

    def by_email(self, email: str) -> list[str]:
        p = self.db.placeholder
        rows = self._rows(
            self.db,
            "profile_identifiers",
            f"SELECT DISTINCT profile_id FROM {self.db.table_ref('profile_identifiers')} "
            f"WHERE type = {p} AND value = {p}",
            ["email", email],
        )
        return sorted(r["profile_id"] for r in rows)

    def countries(self, profile_ids: Collection[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for chunk in _chunks(sorted(profile_ids)):
            sql = (
                f"SELECT profile_id, country FROM {self.db.table_ref('profiles')} "
                f"WHERE profile_id IN ({self._in(chunk)})"
            )
            out.update((r["profile_id"], r["country"]) for r in self._rows(self.db, "profiles", sql, chunk))
        return out

    def consents(self, profile_ids: Collection[str]) -> list[tuple[str, str, str, Any]]:
        """(profile id, purpose, event, occurred_at) of every consent record on the profiles'
        timelines: the timeline names the consent record, its table holds the purpose."""
        on_timeline: list[dict[str, Any]] = []
        for chunk in _chunks(sorted(profile_ids)):
            sql = (
                f"SELECT profile_id, record_key, stream FROM {self.db.table_ref('profile_timeline')} "
                f"WHERE profile_id IN ({self._in(chunk)}) AND event LIKE {self.db.placeholder}"
            )  # the pattern as a parameter: a literal % is a placeholder to psycopg
            on_timeline += self._rows(self.db, "profile_timeline", sql, [*chunk, "consent %"])
        owner: dict[tuple[str, str, str], str] = {}  # (table, source, source_id) -> profile
        for e in on_timeline:
            source, _, source_id = str(e["record_key"]).partition(":consent:")
            owner[(e["stream"], source, source_id)] = e["profile_id"]
        out = []
        for t in self.tables.get("consent", []):
            by_source: dict[str, list[str]] = defaultdict(list)
            for table, source, sid in owner:
                if table == t.name:
                    by_source[source].append(sid)
            # (source, source_id) is the table's key: both in the WHERE, so its index is used
            for source, ids in sorted(by_source.items()):
                for chunk in _chunks(sorted(ids)):
                    p = t.dest.placeholder
                    sql = (
                        "SELECT source, source_id, purpose, event, occurred_at "
                        f"FROM {t.dest.table_ref(t.name)} "
                        f"WHERE source = {p} AND source_id IN ({', '.join([p] * len(chunk))})"
                    )
                    out += self._consent_rows(t, sql, [source, *chunk], owner)
        return out

    def _consent_rows(
        self, t: _Table, sql: str, params: list[Any], owner: dict[tuple[str, str, str], str]
    ) -> list[tuple[str, str, str, Any]]:
        out = []
        for r in self._rows(t.dest, t.name, sql, params):
            pid = owner.get((t.name, str(r["source"]), str(r["source_id"])))
            if pid is not None:
                out.append((pid, str(r["purpose"] or "").lower(), str(r["event"]), r["occurred_at"]))
        return out

    def timeline(
        self, profile_id: str, after: tuple[Any, str, str] | None, limit: int
    ) -> list[dict[str, Any]]:
        """A profile's events in time order, `limit` of them after the position `after`."""
        p, table = self.db.placeholder, "profile_timeline"
        sql = f"SELECT * FROM {self.db.table_ref(table)} WHERE profile_id = {p}"
        params: list[Any] = [profile_id]
        if after is not None:
            sql += f" AND (occurred_at, record_key, event) > ({p}, {p}, {p})"
            params += [_param(self.db, after[0]), after[1], after[2]]
        sql += f" ORDER BY occurred_at, record_key, event LIMIT {int(limit)}"
        return self._rows(self.db, table, sql, params)

    def profiles_of_records(self, entity: str, keys: Collection[str]) -> dict[str, str]:
        """record key -> profile id, for rows of a person entity (contacts are profile members,
        events sit on a profile's timeline)."""
        table = "profile_records" if entity == "contact" else "profile_timeline"
        out: dict[str, str] = {}
        for chunk in _chunks(sorted(keys)):
            sql = (
                f"SELECT DISTINCT record_key, profile_id FROM {self.db.table_ref(table)} "
                f"WHERE record_key IN ({self._in(chunk)})"
            )
            out.update((r["record_key"], r["profile_id"]) for r in self._rows(self.db, table, sql, chunk))
        return out

    # -- entities ----------------------------------------------------------------------------
    def entity_page(
        self, entity: str, since: datetime | None, after: tuple[str, str, str, str] | None, limit: int
    ) -> list[EntityRow]:
        """The next `limit` rows of the entity over all its tables, in (changed_at, source,
        source_id, table) order after `after`: a keyset page, stable while rows are added."""
        fields = [f.name for f in ENTITIES[entity].fields]
        pages = []
        for t in self.tables.get(entity, []):
            types = self._types.get((id(t.dest), t.name)) or t.dest.column_types(t.name)
            if not types:
                continue  # not synced yet
            if CHANGED_AT not in types:
                raise NotReady(f"table `{t.name}` has no {CHANGED_AT} column: it was not written by a sync")
            p, conds, params = t.dest.placeholder, [], []
            if since is not None:
                conds.append(f"{ident(CHANGED_AT)} >= {p}")
                params.append(_param(t.dest, since))
            if after is not None:
                op = ">=" if t.name > after[3] else ">"
                conds.append(f"({ident(CHANGED_AT)}, source, source_id) {op} ({p}, {p}, {p})")
                params += [_param(t.dest, datetime.fromisoformat(after[0])), after[1], after[2]]
            cols = ", ".join(ident(c) for c in [*fields, CHANGED_AT] if c in types)
            sql = f"SELECT {cols} FROM {t.dest.table_ref(t.name)}"
            sql += (" WHERE " + " AND ".join(conds)) if conds else ""
            sql += f" ORDER BY {ident(CHANGED_AT)}, source, source_id LIMIT {int(limit)}"
            rows = self._rows(t.dest, t.name, sql, params)
            pages.append(
                [
                    EntityRow((_iso(r[CHANGED_AT]), str(r["source"]), str(r["source_id"]), t.name), r)
                    for r in rows
                ]
            )
        return list(heapq.merge(*pages, key=lambda e: e.order))[:limit]

    def _has(self, dest: SqlDestination, table: str) -> bool:
        """Whether the table exists; a missing one is looked for again every few seconds (the
        next stitch may make it), not on every request."""
        if (id(dest), table) in self._types:
            return True
        now = time.monotonic()
        if now - self._missing.get((id(dest), table), -_RECHECK) < _RECHECK:
            return False
        if dest.has_table(table):
            return True
        self._missing[(id(dest), table)] = now
        return False

    def close(self) -> None:
        seen = {id(self.db): self.db}
        seen.update((id(t.dest), t.dest) for ts in self.tables.values() for t in ts)
        for dest in seen.values():
            dest.close()


_SYNC = "run `crossdock sync` for the connection that maps it"
_HOWTO = {t: "run `crossdock stitch` first" for t in ("profiles", "profile_identifiers", "profile_timeline")}
_HOWTO["profile_records"] = _HOWTO["profiles"]


# Where in a text another text starts (1-based; 0: not in it), per engine the joined lookup runs on.
_POSITION = {"sqlite": "instr({}, {})", "postgresql": "strpos({}, {})"}
# A consent event on the timeline, as `consents` finds them with LIKE 'consent %' (SQLite's LIKE
# ignores ASCII case, PostgreSQL's does not); written out because a LIKE pattern bound as a
# parameter makes SQLite prepare the statement again on every execution.
_CONSENT_EVENT = {
    "sqlite": "lower(substr(t.event, 1, 8)) = 'consent '",
    "postgresql": "substr(t.event, 1, 8) = 'consent '",
}
_CONSENT_MARK = ":consent:"  # a consent record's key on the timeline: `source:consent:source_id`


def _joined_sql(db: SqlDestination, consent: _Table) -> str:
    """A profile with its consent records: the timeline's consent events joined to the consent
    table by the record key's (source, source_id), the table's key (so its index is used).
    Parameters: the consent table's name (the timeline's `stream`), the profile id."""
    p, mark = db.placeholder, _CONSENT_MARK
    at = _POSITION[db.engine.name].format("t.record_key", f"'{mark}'")
    return (
        "SELECT p.*, c.purpose AS __consent_purpose, c.event AS __consent_event, "
        f"c.occurred_at AS __consent_at FROM {db.table_ref('profiles')} p "
        f"LEFT JOIN {db.table_ref('profile_timeline')} t "
        f"ON t.profile_id = p.profile_id AND {_CONSENT_EVENT[db.engine.name]} AND t.stream = {p} "
        f"LEFT JOIN {consent.dest.table_ref(consent.name)} c "
        f"ON {at} > 0 AND c.source = substr(t.record_key, 1, {at} - 1) "
        f"AND c.source_id = substr(t.record_key, {at} + {len(mark)}) "
        f"WHERE p.profile_id = {p}"
    )


def _chunks(values: Sequence[Any]) -> list[Sequence[Any]]:
    return [values[i : i + _IN_CHUNK] for i in range(0, len(values), _IN_CHUNK)]


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _param(dest: SqlDestination, value: Any) -> Any:
    """A datetime as the engine stores it (SQLite: UTC ISO text), so comparisons hold."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    convert = dest.engine.to_sql.get("datetime")
    return convert(value) if convert is not None else value


def _decoder(dest: SqlDestination, type_: FieldType | None) -> Callable[[Any], Any]:
    kind: FieldType = type_ or "string"
    if kind == "string":
        return _same
    return lambda v: from_sql_value(dest.engine, kind, v)


def _same(v: Any) -> Any:
    return v


def open_warehouse(ctx: HubContext) -> Warehouse:
    """The profile tables' warehouse and every entity's tables, each warehouse opened once."""
    ws = ctx.workspace()
    profiles, profiles_url = profile_destination(ctx, ws)
    opened: dict[tuple[str, str], SqlDestination] = {}
    tables: dict[str, list[_Table]] = defaultdict(list)
    same_db: set[str] = set()  # tables in the profile tables' database (same engine and URL)
    for conn in ws.connections.values():
        if conn.writes_back:  # it reads the warehouse; its rows are someone else's
            continue
        config = destination_config(ctx, conn)
        where = (conn.destination.type, repr(sorted(config.items())))
        for stream, scfg in conn.streams.items():
            path = mapping_file(ctx.workspace_dir, scfg.mapping)
            if path is None:
                continue
            if where not in opened:
                opened[where] = open_destination(conn.destination.type, config)
            table = _Table(opened[where], conn.table_for(stream))
            tables[load_mapping(path).entity.name].append(table)
            if table.dest.engine is profiles.engine and display_url(str(config.get("url"))) == profiles_url:
                same_db.add(table.name)
    return Warehouse(profiles, dict(tables), same_db)
