"""`crossdock stitch`: the workspace's contact records in, profile tables out.

Reads every stream whose mapping targets the `contact` entity from its
destination, stitches, names profiles (ids stay put across runs), and writes
five tables beside the synced ones, each swapped in atomically:
profiles, profile_identifiers, profile_records, profile_timeline and
profile_redirects. What the next run needs (assignments, scored pairs, the
trained model, splits) is kept in the hub's store.

An incremental run (the default once a model exists) re-scores only pairs
touching new or changed records and reuses the stored scores for the rest,
so with the same model it equals a full run; `--full` retrains the model.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import delete, insert
from sqlmodel import Session, col, select

from hub.canonical import FieldType
from hub.connections import destination_config, resolved_destination_config
from hub.context import HubContext, ProgressFn
from hub.destinations import Destination, SqlDestination, TableSpec, open_destination
from hub.errors import ConfigError
from hub.governance.tombstones import Tombstones
from hub.identity.match import MatchLink, MatchModel
from hub.identity.profiles import GOLDEN_FIELDS, assign_profile_ids, golden_record, timeline_events
from hub.identity.state import (
    IdentityAssignment,
    IdentityDecision,
    IdentityLinkRow,
    IdentityModelRow,
    IdentityRedirect,
    IdentityRefusalRow,
    IdentityRun,
    IdentitySplit,
)
from hub.identity.stitching import IdentifierExtractor, StitchResult, stitch
from hub.mapping import load_mapping
from hub.pipeline.info import StreamInfo
from hub.redaction import display_url
from hub.store.models import utcnow
from hub.workspace.locate import mapping_file
from hub.workspace.model import IdentitySection, Workspace

__all__ = [
    "stitch_workspace",
    "StitchSummary",
    "profile_tables",
    "resolve_profile_id",
    "profile_destination",
    "mapped_contact_fields",
]

_CHUNK = 500


@dataclass
class StitchSummary:
    run_id: str
    mode: str
    records: int
    changed: int
    profiles: int
    new_profiles: int
    merged: int
    refused: int
    review: int
    events: int  # records of event entities (tickets, orders, ...) put on a timeline
    events_unattached: int  # ... that name no one stitching knows (kept in their own tables)
    destination: str
    seconds: float
    candidate_pairs: int = 0  # distinct pairs scored this run, over all blocking rules
    # Per blocking rule: pairs made (and without the cap), groups capped, split, skipped.
    blocking: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# Entities whose records happen to a person: they go on the timeline, they link no one.
EVENT_ENTITIES = (
    "ticket",
    "order",
    "email_event",
    "social_interaction",
    "consent",
    "satisfaction_rating",
    "ticket_comment",
)


@dataclass(frozen=True)
class _Input:
    connection: str
    stream: str
    table: str
    entity: str
    dest_type: str
    dest_config: dict[str, Any]
    columns: tuple[str, ...] = ()  # the entity fields its mapping fills


def _inputs(ctx: HubContext, ws: Workspace) -> list[_Input]:
    """The streams stitching reads: contacts, and the events that go on timelines."""
    found = []
    for name, conn in ws.connections.items():
        if conn.writes_back:  # it reads the warehouse; what it sends is not a new record
            continue
        for stream, scfg in conn.streams.items():
            path = mapping_file(ctx.workspace_dir, scfg.mapping)
            mapping = load_mapping(path) if path is not None else None
            entity = mapping.entity.name if mapping is not None else None
            if mapping is not None and (entity == "contact" or entity in EVENT_ENTITIES):
                found.append(
                    _Input(
                        name,
                        stream,
                        conn.table_for(stream),
                        mapping.entity.name,
                        conn.destination.type,
                        destination_config(ctx, conn),
                        tuple(mapping.columns()),
                    )
                )
    return found


def mapped_contact_fields(ctx: HubContext, ws: Workspace | None = None) -> dict[str, list[str]]:
    """Per contact field, the streams (connection.stream) whose mapping fills it."""
    out: dict[str, list[str]] = defaultdict(list)
    for item in _inputs(ctx, ws or ctx.workspace()):
        if item.entity == "contact":
            for column in item.columns:
                out[column].append(f"{item.connection}.{item.stream}")
    return dict(out)


def profile_destination(
    ctx: HubContext, ws: Workspace | None = None, inputs: list[_Input] | None = None
) -> tuple[SqlDestination, str]:
    """Where the profile tables live, and its URL (for messages)."""
    ws = ws or ctx.workspace()
    section = ws.identity
    if section.destination is not None:
        config = resolved_destination_config(
            ctx, section.destination, where="identity.destination.config", used_by="identity"
        )
        return open_destination(section.destination.type, config), display_url(str(config.get("url")))
    contacts = [i for i in (inputs if inputs is not None else _inputs(ctx, ws)) if i.entity == "contact"]
    if not contacts:
        raise ConfigError(
            "no stream maps to the `contact` entity, so there is nothing to stitch; "
            "add a contact mapping to a connection (docs/identity.md)",
            file=str(ctx.workspace_file),
            key="connections",
        )
    first = contacts[0]
    return (
        open_destination(first.dest_type, first.dest_config),
        display_url(str(first.dest_config.get("url"))),
    )


def _read_rows(item: _Input) -> Iterator[dict[str, Any]]:
    """A table's rows, fetched a batch at a time: never the whole result and its dicts at once."""
    dest = open_destination(item.dest_type, item.dest_config)
    try:
        if not dest.has_table(item.table):
            return  # not synced yet
        for row in dest.iter_rows(item.table):
            row["_table"], row["_entity"] = item.table, item.entity
            yield row
    finally:
        dest.close()


def _read_records(inputs: list[_Input], progress: ProgressFn | None = None) -> list[dict[str, Any]]:
    """Every contact row, once per record key (the newest copy if two streams carry it)."""
    by_key: dict[str, dict[str, Any]] = {}
    read = 0
    for item in inputs:
        for row in _read_rows(item):
            read += 1
            if read % 10_000 == 0:
                _report(progress, "read contacts", read)
            key = f"{row.get('source')}:{row.get('source_id')}"
            old = by_key.get(key)
            if old is None or str(row.get("updated_at") or "") >= str(old.get("updated_at") or ""):
                by_key[key] = row
    _report(progress, "read contacts", read)
    return [by_key[k] for k in sorted(by_key)]


def _report(progress: ProgressFn | None, phase: str, count: int) -> None:
    """The CLI's progress line for a phase of the stitch (records so far, records/s)."""
    if progress is not None:
        progress(StreamInfo(stream=f"stitch: {phase}", table="", read=count))


def _fingerprint(record: dict[str, Any], fields: list[str]) -> str:
    values = [str(record.get(f)) for f in fields] + [repr(record.get("_constraints"))]
    return hashlib.sha256("\x1f".join(values).encode()).hexdigest()[:24]


def _config_hash(section: IdentitySection) -> str:
    # Only what changes the scores: a new schedule or golden-record rule needs no retraining.
    exclude = {
        "destination",
        "schedule",
        "survivorship",
        "default_survivorship",
        "source_priority",
        "memory_limit",
        "threads",
    }
    text = json.dumps(section.model_dump(exclude=exclude, mode="json"), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def stitch_workspace(ctx: HubContext, *, full: bool = False, run_id: str | None = None) -> StitchSummary:
    started = time.perf_counter()
    run_id = run_id or uuid.uuid4().hex[:12]
    ws = ctx.workspace()  # parsed once; every mapping loaded once below
    inputs = _inputs(ctx, ws)
    destination, dest_url = profile_destination(ctx, ws, inputs)  # fails here on a config problem
    destination.close()
    records = _read_records([i for i in inputs if i.entity == "contact"], ctx.progress)
    engine = ctx.engine
    # An erased person stays forgotten: their records (still in a system whose deletion
    # failed, or synced back since) never make a profile again (hub/governance/tombstones.py).
    erased = Tombstones.load(engine, ctx.keyring.pseudonym_key())
    records = [r for r in records if not erased.covers(r)]
    # The default matcher compares the fields these records have values in (a written
    # `match:` is kept as written): date of birth when mapped, places when nothing else links.
    config = ws.identity.fitted_to(records)
    config_hash = _config_hash(config)
    with Session(engine) as session:
        previous = {a.record_key: a for a in session.exec(select(IdentityAssignment))}
        splits = list(session.exec(select(IdentitySplit)))
        decisions = list(session.exec(select(IdentityDecision)))
        model_row = session.get(IdentityModelRow, 1)
        earlier_rows = [] if full else list(session.exec(select(IdentityLinkRow)))
    constraints: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for s in splits:
        constraints[s.record_key].append((f"split{s.split_id}", s.side))
    for d in decisions:
        if d.decision == "reject":  # the two may never share a profile
            constraints[d.record_a].append((f"reject{d.id}", "a"))
            constraints[d.record_b].append((f"reject{d.id}", "b"))
    confirmed = [(d.record_a, d.record_b) for d in decisions if d.decision == "confirm"]
    keys = [f"{r['source']}:{r['source_id']}" for r in records]
    for key, record in zip(keys, records, strict=True):
        if key in constraints:
            record["_constraints"] = sorted(constraints[key])
    fields = sorted({r.field for r in config.identifiers} | {f.field for f in config.match.fields})
    fingerprints = {k: _fingerprint(r, fields) for k, r in zip(keys, records, strict=True)}

    # Incremental needs the model the stored scores came from, under the same config.
    model = None
    if not full and model_row is not None and model_row.config_hash == config_hash:
        model = MatchModel.from_json(model_row.model)
    mode = "incremental" if model is not None else "full"
    # A stored fingerprint is "<what stitching read>|<blocking levels>" (the levels only
    # for a record in a group a blocking cap split or skipped).
    stored = {k: a.fingerprint.split("|", 1) for k, a in previous.items()}
    changed = [k for k in keys if k not in stored or stored[k][0] != fingerprints[k]]
    earlier = [MatchLink(e.record_a, e.record_b, e.probability, tuple(e.levels)) for e in earlier_rows]
    result = stitch(
        records,
        config,
        model=model,
        changed=changed if mode == "incremental" else None,
        earlier=earlier if mode == "incremental" else (),
        confirmed=confirmed,
        earlier_levels={k: v[1] for k, v in stored.items() if len(v) > 1} if mode == "incremental" else None,
    )
    for key, levels in result.block_levels().items():
        fingerprints[key] += "|" + levels

    clusters = result.clusters()
    ids, redirects = assign_profile_ids(clusters, {k: a.profile_id for k, a in previous.items()})
    profile_of = {key: pid for pid, group in zip(ids, clusters, strict=True) for key in group}
    index = {k: i for i, k in enumerate(keys)}
    tables = _profile_rows(result, records, clusters, ids, index, config, run_id)
    attached, unattached = _event_timeline(
        [i for i in inputs if i.entity != "contact"], result, profile_of, config
    )
    tables["profile_timeline"].extend(attached)
    tables["profile_redirects"] = _redirect_rows(engine, redirects, run_id)
    destination, _ = profile_destination(ctx, ws, inputs)
    try:
        _write_tables(destination, tables, ctx.progress)
    finally:
        destination.close()
    _save_state(
        engine, result, profile_of, fingerprints, previous, redirects, run_id, model_row, config_hash, mode
    )

    previous_ids = {a.profile_id for a in previous.values()}
    summary = StitchSummary(
        run_id=run_id,
        mode=mode,
        records=len(records),
        changed=len(changed) if mode == "incremental" else len(records),
        profiles=len(clusters),
        new_profiles=sum(1 for pid in ids if pid not in previous_ids),
        merged=len(redirects),
        refused=len(result.refusals),
        review=len(result.review),
        events=len({e["record_key"] for e in attached}),
        events_unattached=unattached,
        destination=dest_url,
        seconds=round(time.perf_counter() - started, 3),
        candidate_pairs=result.blocking.candidate_pairs,
        blocking=[r.to_dict() for r in result.blocking.rules],
    )
    with Session(engine) as session:
        session.add(IdentityRun(id=run_id, mode=mode, ended_at=utcnow(), summary=summary.to_dict()))
        session.commit()
    ctx.audit.append("identity.stitch", target="profiles", details=summary.to_dict())
    for old, new in sorted(redirects.items()):
        ctx.audit.append("identity.merge", target=new, details={"merged": old, "run_id": run_id})
    return summary


def _profile_rows(
    result: StitchResult,
    records: list[dict[str, Any]],
    clusters: list[list[str]],
    ids: list[str],
    index: dict[str, int],
    config: Any,
    run_id: str,
) -> dict[str, list[dict[str, Any]]]:
    match_partner: dict[str, float] = {}
    for link in result.match_links:
        for k in (link.record_a, link.record_b):
            match_partner[k] = max(match_partner.get(k, 0.0), link.probability)
    profiles: list[dict[str, Any]] = []
    identifiers: list[dict[str, Any]] = []
    members: list[dict[str, Any]] = []
    timeline: list[dict[str, Any]] = []
    now = utcnow()
    for pid, group in zip(ids, clusters, strict=True):
        group_records = [records[index[k]] for k in group]
        held = Counter(
            ident for k in group for ident in result.identifiers[index[k]] if not ident[0].startswith("!")
        )
        for k in group:
            identifiers.extend(
                {"profile_id": pid, "type": t, "value": v, "record_key": k}
                for t, v in result.identifiers[index[k]]
                if not t.startswith("!")
            )
        confidence = 1.0
        for k in group:
            i = index[k]
            shared_types = sorted({t for t, v in result.identifiers[i] if held[(t, v)] > 1})
            linked_by = ",".join(shared_types)
            if not linked_by and k in match_partner:
                linked_by = f"match {match_partner[k]:.3f}"
            rec_conf = float(result.confidence[i]) if len(group) > 1 else 1.0
            confidence = min(confidence, rec_conf)
            rec = records[i]
            members.append(
                {
                    "record_key": k,
                    "profile_id": pid,
                    "source": rec.get("source"),
                    "source_id": str(rec.get("source_id")),
                    "source_table": rec.get("_table"),
                    "confidence": rec_conf,
                    "linked_by": linked_by or None,
                }
            )
            timeline.extend(timeline_events(pid, k, rec, "contact"))
        golden = golden_record(group_records, config)
        times = [
            t for t in (r.get("updated_at") or r.get("created_at") for r in group_records) if t is not None
        ]
        profiles.append(
            {
                "profile_id": pid,
                **golden,
                "record_count": len(group),
                "sources": ",".join(sorted({str(r.get("source")) for r in group_records})),
                "confidence": round(confidence, 6),
                "last_updated_at": max(times) if times else None,
                "stitched_at": now,
                "run_id": run_id,
            }
        )
    return {
        "profiles": profiles,
        "profile_identifiers": identifiers,
        "profile_records": members,
        "profile_timeline": timeline,
    }


def _event_timeline(
    inputs: list[_Input], result: StitchResult, profile_of: dict[str, str], config: Any
) -> tuple[list[dict[str, Any]], int]:
    """Timeline rows for event records, and how many named no known person.

    An event names its person by `contact_id` (the person's record in the same
    system) or else by email or phone; an identifier on several profiles, a
    shared or a blocked one names no one.
    """
    holders: dict[tuple[str, str], set[str]] = defaultdict(set)
    for key, idents in zip(result.keys, result.identifiers, strict=True):
        for ident in idents:
            if ident not in result.evidence.shared:
                holders[ident].add(profile_of[key])
    extract = IdentifierExtractor(config)
    rows, unattached = [], 0
    for item in inputs:
        for event in _read_rows(item):
            source = event.get("source")
            key = f"{source}:{item.entity}:{event.get('source_id')}"
            pid = (
                profile_of.get(f"{source}:{event.get('contact_id')}")
                if event.get("contact_id") not in (None, "")
                else None
            )
            if pid is None:
                for ident in extract(event):
                    if len(holders.get(ident, ())) == 1:
                        pid = next(iter(holders[ident]))
                        break
            if pid is None:
                unattached += 1
                continue
            rows.extend(timeline_events(pid, key, event, item.entity))
    return rows, unattached


def profile_tables() -> dict[str, TableSpec]:
    """The tables platform teams join, with their column types and keys."""
    golden: dict[str, FieldType] = {f: "string" for f in GOLDEN_FIELDS}
    return {
        "profiles": TableSpec(
            "profiles",
            {
                "profile_id": "string",
                **golden,
                "record_count": "integer",
                "sources": "string",
                "confidence": "number",
                "last_updated_at": "datetime",
                "stitched_at": "datetime",
                "run_id": "string",
            },
            key=("profile_id",),
        ),
        "profile_identifiers": TableSpec(
            "profile_identifiers",
            {"profile_id": "string", "type": "string", "value": "string", "record_key": "string"},
            key=("record_key", "type", "value"),
            indexes=(("type", "value"), ("profile_id",)),  # a profile by email; a profile's identifiers
        ),
        "profile_records": TableSpec(
            "profile_records",
            {
                "record_key": "string",
                "profile_id": "string",
                "source": "string",
                "source_id": "string",
                "source_table": "string",
                "confidence": "number",
                "linked_by": "string",
            },
            key=("record_key",),
            indexes=(("profile_id",),),
        ),
        "profile_timeline": TableSpec(
            "profile_timeline",
            {
                "profile_id": "string",
                "occurred_at": "datetime",
                "event": "string",
                "source": "string",
                "stream": "string",
                "record_key": "string",
            },
            key=("record_key", "event"),
            indexes=(("profile_id",),),  # a profile's timeline (the read API, `profiles show`)
        ),
        "profile_redirects": TableSpec(
            "profile_redirects",
            {"old_profile_id": "string", "profile_id": "string", "run_id": "string", "at": "datetime"},
            key=("old_profile_id",),
        ),
    }


def _write_tables(
    destination: Destination, tables: dict[str, list[dict[str, Any]]], progress: ProgressFn | None = None
) -> None:
    """Each table is rebuilt and swapped in whole: a reader never sees half a stitch."""
    written = 0
    for name, spec in profile_tables().items():
        rows = tables[name]
        destination.prepare(spec, "overwrite")
        try:
            for start in range(0, len(rows), 5000):
                destination.write(spec, "overwrite", rows[start : start + 5000])
                written += len(rows[start : start + 5000])
                _report(progress, "write profile tables", written)
            destination.finish(spec, "overwrite")
        except Exception:
            destination.abort(spec, "overwrite")
            raise


def _redirect_rows(engine: Any, redirects: dict[str, str], run_id: str) -> list[dict[str, Any]]:
    """All redirects, old ones included, each pointing at the id that survives today."""
    with Session(engine) as session:
        stored = {r.old_id: r for r in session.exec(select(IdentityRedirect))}
    now = utcnow()
    final = {old: (r.profile_id, r.run_id, r.at) for old, r in stored.items()}
    for old, new in redirects.items():
        final[old] = (new, run_id, now)
    for old, (target, rid, at) in list(final.items()):
        seen = {old}
        while target in final and target not in seen:  # follow chains: a -> b, b -> c
            seen.add(target)
            target = final[target][0]
        final[old] = (target, rid, at)
    return [
        {"old_profile_id": old, "profile_id": t, "run_id": rid, "at": at}
        for old, (t, rid, at) in sorted(final.items())
    ]


def _save_state(
    engine: Any,
    result: StitchResult,
    profile_of: dict[str, str],
    fingerprints: dict[str, str],
    previous: dict[str, IdentityAssignment],
    redirects: dict[str, str],
    run_id: str,
    model_row: IdentityModelRow | None,
    config_hash: str,
    mode: str,
) -> None:
    """One transaction: assignments (only rows that differ), scores, refusals, model, redirects."""
    index = {k: i for i, k in enumerate(result.keys)}
    upserts = []
    for key, pid in profile_of.items():
        conf = float(result.confidence[index[key]])
        before = previous.get(key)
        if before is None or (before.profile_id, before.fingerprint, before.confidence) != (
            pid,
            fingerprints[key],
            conf,
        ):
            upserts.append(
                {"record_key": key, "profile_id": pid, "fingerprint": fingerprints[key], "confidence": conf}
            )
    gone = [k for k in previous if k not in profile_of]
    merged = {(link.record_a, link.record_b) for link in result.match_links}
    review = {(link.record_a, link.record_b) for link in result.review}
    links = [
        {
            "record_a": link.record_a,
            "record_b": link.record_b,
            "probability": link.probability,
            "levels": list(link.levels),
            "outcome": "merged"
            if (link.record_a, link.record_b) in merged
            else "review"
            if (link.record_a, link.record_b) in review
            else "none",
        }
        for link in result.scored_links()
    ]
    with Session(engine) as session:
        stale = [u["record_key"] for u in upserts] + gone
        for start in range(0, len(stale), _CHUNK):
            session.execute(
                delete(IdentityAssignment).where(
                    col(IdentityAssignment.record_key).in_(stale[start : start + _CHUNK])
                )
            )
        if upserts:
            session.execute(insert(IdentityAssignment), upserts)
        session.execute(delete(IdentityLinkRow))
        if links:
            session.execute(insert(IdentityLinkRow), links)
        session.execute(delete(IdentityRefusalRow))
        refusals = [
            {
                "record_a": r.record_a,
                "record_b": r.record_b,
                "via": r.via if r.via.startswith("match:") else r.via.split(":", 1)[0],
                "reason": r.reason,
            }
            for r in result.refusals
        ]
        if refusals:
            session.execute(insert(IdentityRefusalRow), refusals)
        if mode == "full" and result.model is not None:
            row = model_row or IdentityModelRow(model="", config_hash=config_hash)
            row = session.merge(row)
            row.model, row.config_hash, row.trained_at = result.model.to_json(), config_hash, utcnow()
        for old, new in redirects.items():
            existing = session.get(IdentityRedirect, old)
            if existing is None:
                session.add(IdentityRedirect(old_id=old, profile_id=new, run_id=run_id))
            else:
                existing.profile_id, existing.run_id = new, run_id
        # Older redirects pointing at an id merged away now point at its survivor.
        for old, new in redirects.items():
            for r in session.exec(select(IdentityRedirect).where(IdentityRedirect.profile_id == old)):
                r.profile_id = new
        session.commit()


def resolve_profile_id(ctx: HubContext, profile_id: str) -> str:
    """Follow a redirect left by a merge; an id that was never merged is itself."""
    with Session(ctx.engine) as session:
        redirect = session.get(IdentityRedirect, profile_id)
    return redirect.profile_id if redirect is not None else profile_id
