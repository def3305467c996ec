"""`crossdock stitch` and `crossdock profiles`: run stitching, look at, explain and split profiles."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy import func
from sqlmodel import Session, col, or_, select

from hub.cli.common import handle_errors, hub_context
from hub.cli.render import console, print_json, print_table
from hub.context import HubContext, bound
from hub.errors import ConfigError
from hub.identity.normalize import normalize_email
from hub.identity.state import (
    IdentityAssignment,
    IdentityDecision,
    IdentityLinkRow,
    IdentityModelRow,
    IdentityRedirect,
    IdentityRefusalRow,
    IdentitySplit,
)

if TYPE_CHECKING:
    from hub.identity.match import MatchModel

# hub.identity.match, .lookup and .run (numpy, DuckDB, pyarrow) are imported by the commands
# that use them: every `crossdock` command imports this module, `sync` too.

__all__ = ["app", "stitch"]

app = typer.Typer(no_args_is_help=True)


@handle_errors
def stitch(
    full: Annotated[
        bool, typer.Option("--full", help="retrain the match model and re-score every pair")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    explain_config: Annotated[
        bool,
        typer.Option(
            "--explain-config",
            help="show the match fields and blocking rules in use, and why; stitch nothing",
        ),
    ] = False,
) -> None:
    """Stitch every contact record into profiles (a Prefect flow run)."""
    from hub.cli import prefect_server
    from hub.cli.progress import live_progress
    from hub.identity.run import profile_destination

    if explain_config:
        _explain_config(as_json)
        return
    dest, _ = profile_destination(hub_context())  # a config problem fails before Prefect starts
    dest.close()
    prefect_server.start_early()  # its start-up overlaps Prefect's imports (hub/cli/prefect_server.py)
    from flows.stitch import stitch_profiles

    prefect_server.wait_ready()
    with (
        live_progress(not as_json) as progress,  # records/s while it reads and writes
        bound(replace(hub_context(), progress=progress)) as ctx,
    ):
        summary = stitch_profiles(
            mode="full" if full else "incremental", workspace_dir=str(ctx.workspace_dir)
        ).to_dict()
    if as_json:
        print_json(summary)
        return
    console.print(
        f"[green]stitched[/] {summary['records']:,} records ({summary['changed']:,} new or changed, "
        f"{summary['mode']}) into {summary['profiles']:,} profiles: {summary['new_profiles']:,} new, "
        f"{summary['merged']:,} merged away, {summary['refused']:,} merges refused by guards, "
        f"{summary['review']:,} pairs to review; {summary['events']:,} events on timelines "
        f"({summary['events_unattached']:,} naming no known person); tables in {summary['destination']} "
        f"({summary['seconds']:.1f}s)"
    )
    for rule in summary.get("blocking", []):
        if rule["capped_blocks"]:
            console.print(
                f"[yellow]blocking rule {escape(rule['rule'])}[/]: {rule['capped_blocks']:,} groups over "
                f"max_block_size split into {rule['split_into']:,} by {escape(', '.join(rule['split_by']))}, "
                f"{rule['skipped_blocks']:,} still too large skipped ({rule['skipped_records']:,} records); "
                f"{rule['pairs']:,} pairs instead of {rule['pairs_uncapped']:,}"
            )


def _explain_config(as_json: bool) -> None:
    from hub.identity.explain_config import describe_config

    info = describe_config(hub_context())
    if as_json:
        print_json(info)
        return
    match = info["match"]
    console.print(
        f"match fields ({match['fields_from']}), max_block_size {match['max_block_size']:,}, "
        f"threshold {match['threshold']}, shared_threshold {info['shared_threshold']}, "
        f"memory_limit {info['memory_limit']}, threads {info['threads']}"
    )
    fields = Table("field", "compare", "mapped by", "why")
    for f in match["fields"]:
        fields.add_row(
            escape(f["field"]), f["compare"], escape(", ".join(f["mapped_by"]) or "-"), escape(f["why"])
        )
    print_table(fields)
    console.print(f"blocking rules ({match['blocking_from']})")
    rules = Table("rule", "a group too large is split by", "why")
    for r in match["blocking"]:
        rules.add_row(escape(r["rule"]), escape(", ".join(r["split_by"]) or "-"), escape(r["why"]))
    print_table(rules)


def _find(ctx: HubContext, who: str) -> str:
    """A profile id from an id (following merges), a record key (hubspot:123) or an email."""
    from hub.identity.lookup import is_record_key, profile_of_record
    from hub.identity.run import profile_destination, resolve_profile_id

    if is_record_key(who):
        return profile_of_record(ctx, who)
    if "@" not in who:
        return resolve_profile_id(ctx, who)
    email = normalize_email(who)
    if email is None:
        raise ConfigError(f"`{who}` is not an email address or a profile id")
    dest, _ = profile_destination(ctx)
    try:
        if not dest.has_table("profile_identifiers"):
            raise ConfigError("no profiles yet: run `crossdock stitch` first")
        rows = dest.read_rows("profile_identifiers", where={"type": "email", "value": email})
    finally:
        dest.close()
    ids = sorted({r["profile_id"] for r in rows})
    if not ids:
        raise ConfigError(
            f"no profile holds the email {email} (blocked and shared addresses "
            "such as info@ are not identifiers)"
        )
    if len(ids) > 1:
        raise ConfigError(
            f"{email} is on {len(ids)} profiles ({', '.join(ids)}); a guard kept them apart: use a profile id"
        )
    return ids[0]


def _profile(ctx: HubContext, pid: str) -> dict[str, Any]:
    from hub.identity.run import profile_destination

    dest, _ = profile_destination(ctx)
    try:
        if not dest.has_table("profiles"):
            raise ConfigError("no profiles yet: run `crossdock stitch` first")
        found = dest.read_rows("profiles", where={"profile_id": pid})
        if not found:
            raise ConfigError(f"no profile `{pid}`")
        return {
            "profile": found[0],
            "records": dest.read_rows("profile_records", where={"profile_id": pid}),
            "identifiers": dest.read_rows("profile_identifiers", where={"profile_id": pid}),
            "timeline": sorted(
                dest.read_rows("profile_timeline", where={"profile_id": pid}),
                key=lambda e: str(e["occurred_at"]),
            ),
        }
    finally:
        dest.close()


@app.command()
@handle_errors
def show(
    who: Annotated[str, typer.Argument(help="a profile id, a record key (hubspot:123) or an email")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The golden record, the records behind it and the profile's timeline."""
    ctx = hub_context()
    data = _profile(ctx, _find(ctx, who))
    if as_json:
        print_json(data)
        return
    p = data["profile"]
    console.print(
        f"[bold]{p['profile_id']}[/]  {p['record_count']} records from {p['sources']}, "
        f"confidence {p['confidence']:.3f}"
    )
    for name in ("email", "phone", "first_name", "last_name", "city", "country", "lifecycle_stage"):
        if p.get(name) is not None:
            console.print(f"  {name:16s} {p[name]}")
    table = Table("record", "source table", "linked by", "confidence")
    for r in data["records"]:
        table.add_row(
            r["record_key"], r["source_table"] or "", r["linked_by"] or "-", f"{r['confidence']:.3f}"
        )
    print_table(table)
    timeline = Table("when", "event", "source", "record")
    for e in data["timeline"][-20:]:
        timeline.add_row(str(e["occurred_at"]), e["event"], e["source"] or "", e["record_key"])
    print_table(timeline)


@app.command()
@handle_errors
def explain(
    profile_id: Annotated[str, typer.Argument(help="a profile id, a record key (hubspot:123) or an email")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Which identifiers and which match scores joined the profile's records, and what was refused."""
    from hub.identity.lookup import is_record_key
    from hub.identity.match import MatchModel

    ctx = hub_context()
    pid = _find(ctx, profile_id)
    data = _profile(ctx, pid)
    keys = {r["record_key"] for r in data["records"]}
    holders: dict[tuple[str, str], list[str]] = {}
    for row in data["identifiers"]:
        holders.setdefault((row["type"], row["value"]), []).append(row["record_key"])
    with Session(ctx.engine) as session:
        links = list(
            session.exec(
                select(IdentityLinkRow).where(
                    or_(col(IdentityLinkRow.record_a).in_(keys), col(IdentityLinkRow.record_b).in_(keys)),
                    IdentityLinkRow.outcome != "none",
                )
            )
        )
        refusals = list(
            session.exec(
                select(IdentityRefusalRow).where(
                    or_(
                        col(IdentityRefusalRow.record_a).in_(keys), col(IdentityRefusalRow.record_b).in_(keys)
                    )
                )
            )
        )
        merged_ids = [
            r.old_id for r in session.exec(select(IdentityRedirect).where(IdentityRedirect.profile_id == pid))
        ]
        model_row = session.get(IdentityModelRow, 1)
    model = MatchModel.from_json(model_row.model) if model_row else None
    explanation: dict[str, Any] = {
        "profile_id": pid,
        "asked_for": profile_id,
        "merged_ids": sorted(merged_ids),
        "identifier_links": [
            {"type": t, "value": v, "records": sorted(ks)}
            for (t, v), ks in sorted(holders.items())
            if len(ks) > 1
        ],
        "match_links": [
            {
                "records": [lk.record_a, lk.record_b],
                "probability": lk.probability,
                "outcome": lk.outcome,
                "fields": _levels(model, lk.levels),
            }
            for lk in links
        ],
        "refused": [
            {"records": [r.record_a, r.record_b], "via": r.via, "reason": r.reason} for r in refusals
        ],
    }
    if as_json:
        print_json(explanation)
        return
    asked = ""
    if pid != profile_id:
        merged = not is_record_key(profile_id) and "@" not in profile_id
        asked = f" (asked for {profile_id}{', merged into it' if merged else ''})"
    console.print(f"[bold]{pid}[/]" + asked + f": {len(keys)} records")
    if merged_ids:
        console.print(f"  absorbed profiles: {', '.join(sorted(merged_ids))}")
    for link in explanation["identifier_links"]:
        console.print(f"  {link['type']} {link['value']} is on {', '.join(link['records'])}")
    for link in explanation["match_links"]:
        fields = ", ".join(f"{k}: {v}" for k, v in link["fields"].items())
        console.print(
            f"  match {link['probability']:.4f} ({link['outcome']}) {' ~ '.join(link['records'])}: {fields}"
        )
    for r in explanation["refused"]:
        console.print(f"  [yellow]refused[/] {' + '.join(r['records'])} via {r['via']}: {r['reason']}")
    if len(keys) == 1 and not explanation["refused"]:
        console.print("  a single record: nothing joined it to another")


def _levels(model: MatchModel | None, levels: list[int]) -> dict[str, str]:
    from hub.identity.match import LEVELS

    if model is None:
        return {}
    out = {}
    for name, kind, level in zip(model.fields, model.kinds, levels, strict=True):
        names = LEVELS[kind]  # type: ignore[index]
        out[name] = "missing" if level < 0 else names[len(names) - 1 - level]
    return out


# What a reviewer compares, in this order: who they are, how to reach them, where they are.
_REVIEW_FIELDS = ("first_name", "last_name", "email", "phone", "company_id", "city", "country", "updated_at")


@app.command()
@handle_errors
def review(
    as_json: Annotated[bool, typer.Option("--json")] = False,
    limit: Annotated[int, typer.Option("--limit", "-n", help="pairs to show, most likely first")] = 20,
) -> None:
    """Pairs in the review band (likely the same person, not sure enough to merge), each
    shown side by side: both records' fields and the per-field evidence of the match."""
    from hub.identity.lookup import contact_records, field_evidence, stored_model

    ctx = hub_context()
    with Session(ctx.engine) as session:
        rows = list(
            session.exec(
                select(IdentityLinkRow)
                .where(IdentityLinkRow.outcome == "review")
                .order_by(col(IdentityLinkRow.probability).desc())
            )
        )
    total, rows = len(rows), rows[:limit]
    model = stored_model(ctx)
    records = contact_records(ctx, sorted({k for r in rows for k in (r.record_a, r.record_b)}))
    data: list[dict[str, Any]] = [
        {
            "records": [r.record_a, r.record_b],
            "probability": r.probability,
            "evidence": field_evidence(model, r.levels),
            "sides": [_side(records.get(k)) for k in (r.record_a, r.record_b)],
        }
        for r in rows
    ]
    if as_json:
        print_json(data)
        return
    if not data:
        console.print("nothing to review")
        return
    for d in data:
        a, b = d["records"]
        table = Table(
            "field",
            a,
            b,
            "evidence (bits)",
            title=f"p {d['probability']:.4f}  {a} ~ {b}",
            title_justify="left",
        )
        sides = d["sides"]
        table.add_row(
            "source", *(f"{s['source']} ({s['table']})" if s else "(record gone)" for s in sides), ""
        )
        for name in _REVIEW_FIELDS:
            ev = d["evidence"].get(name)
            table.add_row(
                name,
                *(_cell(s, name) for s in sides),
                f"{ev['level']} ({ev['bits']:+.1f})" if ev else "",
            )
        print_table(table)
    console.print(
        f"{len(data)} of {total} pair(s); decide with `crossdock profiles confirm A B` (one person) "
        "or `crossdock profiles reject A B` (two people)"
    )


def _side(row: dict[str, Any] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {
        "source": row.get("source"),
        "table": row.get("_table"),
        "connection": row.get("_connection"),
        **{name: row.get(name) for name in _REVIEW_FIELDS},
    }


def _cell(side: dict[str, Any] | None, name: str) -> str:
    value = side.get(name) if side else None
    return "" if value is None else escape(str(value))


def _decide(record_a: str, record_b: str, decision: str, as_json: bool) -> None:
    from hub.identity.run import stitch_workspace

    ctx = hub_context()
    with Session(ctx.engine) as session:
        known = {
            a.record_key
            for a in session.exec(
                select(IdentityAssignment).where(col(IdentityAssignment.record_key).in_([record_a, record_b]))
            )
        }
        missing = sorted({record_a, record_b} - known)
        if missing:
            raise ConfigError(
                f"unknown record {', '.join(missing)} (record keys look like "
                "hubspot:123; see `crossdock profiles review`)"
            )
        if record_a == record_b:
            raise ConfigError("give two different records")
        session.add(IdentityDecision(record_a=record_a, record_b=record_b, decision=decision))
        session.commit()
    ctx.audit.append(f"identity.{decision}", actor="cli", target=f"{record_a} ~ {record_b}")
    summary = stitch_workspace(ctx)
    with Session(ctx.engine) as session:
        now = {
            a.record_key: a.profile_id
            for a in session.exec(
                select(IdentityAssignment).where(col(IdentityAssignment.record_key).in_([record_a, record_b]))
            )
        }
    if as_json:
        print_json({"decision": decision, "now": now, "stitch": summary.to_dict()})
        return
    together = now[record_a] == now[record_b]
    console.print(
        f"[green]{decision}ed[/]: {record_a} -> {now[record_a]}, {record_b} -> {now[record_b]} "
        f"({'one profile' if together else 'two profiles'})"
    )
    if decision == "confirm" and not together:
        console.print("[yellow]a guard kept them apart[/]: see `crossdock profiles explain`")


@app.command()
@handle_errors
def confirm(record_a: str, record_b: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """A reviewed pair is one person: merge them (through the guards) from now on."""
    _decide(record_a, record_b, "confirm", as_json)


@app.command()
@handle_errors
def reject(record_a: str, record_b: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """A reviewed pair is two people: they never share a profile again."""
    _decide(record_a, record_b, "reject", as_json)


@app.command()
@handle_errors
def split(
    profile_id: Annotated[str, typer.Argument(help="a profile id, a record key (hubspot:123) or an email")],
    records: Annotated[
        list[str], typer.Option("--record", "-r", help="a record key (source:id) to split off; repeatable")
    ],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Unmerge: the given records leave the profile and never rejoin the rest of it."""
    from hub.identity.run import stitch_workspace

    ctx = hub_context()
    pid = _find(ctx, profile_id)
    with Session(ctx.engine) as session:
        members = {
            a.record_key
            for a in session.exec(select(IdentityAssignment).where(IdentityAssignment.profile_id == pid))
        }
        outside = sorted(set(records) - members)
        if not members:
            raise ConfigError(f"no profile `{profile_id}`; run `crossdock stitch` first")
        if outside:
            raise ConfigError(
                f"not records of {pid}: {', '.join(outside)} (see `crossdock profiles explain`)"
            )
        if set(records) == members:
            raise ConfigError("split off some of the profile's records, not all of them")
        split_id = (session.exec(select(func.max(IdentitySplit.split_id))).one() or 0) + 1
        for key in sorted(members):
            session.add(
                IdentitySplit(
                    split_id=split_id,
                    record_key=key,
                    profile_id=pid,
                    side="out" if key in records else "rest",
                )
            )
        session.commit()
    ctx.audit.append(
        "identity.split",
        actor="cli",
        target=pid,
        details={
            "split_id": split_id,
            "records_out": sorted(records),
            "records_kept": len(members) - len(set(records)),
        },
    )
    summary = stitch_workspace(ctx)
    with Session(ctx.engine) as session:
        now = {
            a.record_key: a.profile_id
            for a in session.exec(
                select(IdentityAssignment).where(col(IdentityAssignment.record_key).in_(sorted(members)))
            )
        }
    result = {"split_id": split_id, "profile_id": pid, "now": now, "stitch": summary.to_dict()}
    if as_json:
        print_json(result)
        return
    console.print(f"[green]split[/] {len(set(records))} records off {pid}:")
    for key in sorted(members):
        console.print(f"  {key} -> {now.get(key)}")
