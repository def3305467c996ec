"""`crossdock explain-decision KEY [--run RUN]`: what the govern step did to one record.

Held-back and withdrawn records have a row each (`governance_decisions`). A PII change is not
written per record (it would cost the hot path a store row per record and field): the govern
step stores, once per run and stream, the plan it applied (`governance_plans`: policy hash,
each PII field's action and rule). What a record got is derived from that plan and the
record's presence in that run's output: a SQL destination's table is asked for the record and
the run that last wrote it (`_cd_run_id`); a SaaS destination cannot be asked, so its plan
says what was done *if* the record was sent in that run (and it was not held back: that would
be a decision row).
"""

from __future__ import annotations

import json
from typing import Any

from hub.canonical import get_entity
from hub.connections import destination_config
from hub.context import HubContext
from hub.destinations import open_destination
from hub.errors import ConfigError
from hub.governance.decisions import GovernancePlan, decisions_for, plans_for

__all__ = ["explain_record"]

# what each PII action did to a non-empty value, in words
_DONE = {
    "keep": "kept as is",
    "hash": "hashed (normalised SHA-256)",
    "tokenise": "tokenised (HMAC)",
    "mask": "masked",
    "drop": "dropped (sent empty)",
}


def explain_record(
    ctx: HubContext, key: str, run_id: str | None = None, plans: int = 20
) -> list[dict[str, Any]]:
    """Every decision about KEY (a record key `source:id` or a profile id): first the rows a
    policy held back or withdrew, then, per run and stream whose output has the record (or
    may have it: a SaaS destination), the PII rule each field went through."""
    held = decisions_for(ctx.engine, key, run_id=run_id)
    found: list[dict[str, Any]] = [
        {
            "kind": "held",
            "run_id": d.run_id,
            "connection": d.connection,
            "stream": d.stream,
            "record_key": d.record_key,
            "profile_id": d.profile_id,
            "rule": d.rule,
            "action": d.action,
            "reason": d.reason,
            "at": d.at,
        }
        for d in held
    ]
    stopped = {(d.run_id, d.connection, d.stream) for d in held}
    for plan in plans_for(ctx.engine, run_id, limit=plans):
        if (plan.run_id, plan.connection, plan.stream) in stopped:
            continue  # held back or withdrawn in that run: no PII rule reached it
        entry = _pii_entry(ctx, plan, key, asked=run_id is not None)
        if entry is not None:
            found.append(entry)
    return found


def _keys(plan: GovernancePlan, key: str) -> list[dict[str, str]]:
    """The key columns KEY may stand for in the plan's stream: `source:id` as written, and a
    bare profile id as a profile row's key (`crossdock:<id>`)."""
    fields = json.loads(plan.key_fields)
    if len(fields) == 1:
        return [{fields[0]: key}]
    wanted = key if ":" in key else f"crossdock:{key}"
    parts = wanted.split(":", len(fields) - 1)
    return [dict(zip(fields, parts, strict=True))] if len(parts) == len(fields) else []


def _pii_entry(ctx: HubContext, plan: GovernancePlan, key: str, asked: bool) -> dict[str, Any] | None:
    """The plan's rules as they applied to KEY in the plan's run; None when the record is not
    in that run's output (a SQL destination that does not have it, or, unless that run was
    `asked` for, has it as written by another run)."""
    rules: list[list[str]] = json.loads(plan.pii_rules)
    stored, where = _stored_row(ctx, plan, key)
    if stored is False:
        return None
    outcome = (
        f"written to {plan.destination_table} in this run"
        if isinstance(stored, dict)
        else "if sent in this run (a SaaS destination: not verifiable here); not held back"
    )
    later = stored.get("_cd_run_id") if isinstance(stored, dict) else None
    if later not in (None, plan.run_id):
        if not asked:
            return None  # the table has it as another run wrote it: that run's plan says
        outcome = (
            f"{plan.destination_table} has it as run {later} wrote it; if this run wrote it, "
            "these rules applied"
        )
        stored = None  # its values are another run's
    ruled = {f for f, _, _ in rules}
    fields: list[dict[str, str | None]] = []
    for name, action, rule in rules:
        done = _DONE[action]
        if isinstance(stored, dict) and action != "drop" and stored.get(name) in (None, ""):
            done = "empty: nothing to change"
        fields.append({"field": name, "action": action, "rule": rule, "done": done})
    try:
        entity_fields = get_entity(plan.entity).fields
    except (KeyError, ConfigError):
        entity_fields = ()
    for f in entity_fields:  # the entity's other PII fields: no rule for this destination
        if f.pii and f.name not in ruled:
            fields.append({"field": f.name, "action": "keep", "rule": None, "done": "kept as is (no rule)"})
    return {
        "kind": "pii",
        "run_id": plan.run_id,
        "connection": plan.connection,
        "stream": plan.stream,
        "record_key": ":".join(where.values()) if where else key,
        "policy_hash": plan.policy_hash,
        "purpose": plan.purpose,
        "region": plan.region,
        "outcome": outcome,
        "fields": fields,
        "at": plan.at,
    }


def _stored_row(
    ctx: HubContext, plan: GovernancePlan, key: str
) -> tuple[dict[str, Any] | bool | None, dict[str, str]]:
    """(the record's row in the plan's SQL table, or False: not there; None: cannot be asked),
    and the key columns it was found by."""
    candidates = _keys(plan, key)
    if plan.destination_table is None:
        return None, candidates[0] if candidates else {}
    try:
        conn = ctx.workspace().connection(plan.connection)
        dest = open_destination(conn.destination.type, destination_config(ctx, conn))
    except (ConfigError, KeyError):
        return None, candidates[0] if candidates else {}  # the connection is gone: cannot ask
    try:
        if not dest.has_table(plan.destination_table):
            return False, {}
        for where in candidates:
            rows = dest.read_rows(plan.destination_table, where)
            if rows:
                return rows[0], where
        return False, {}
    finally:
        dest.close()
