"""Wiring: a connection's stream + the workspace's `governance:` block -> its Governor, and the
audit of a policy change. The people are read from the warehouse the block names."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hub.canonical import Entity
from hub.connections import destination_config
from hub.context import HubContext
from hub.destinations import SqlDestination, open_destination
from hub.errors import ConfigError
from hub.governance.config import GovernanceConfig
from hub.governance.decisions import policy_hash_swap
from hub.governance.people import PersonIndex
from hub.governance.step import Governor, build_policies, token_key
from hub.governance.stock import skus_of_items, stock_by_sku
from hub.mapping import CompiledMapping
from hub.workspace import Connection, Workspace

__all__ = ["governor_for", "unclassified_fields", "load_people", "load_stock", "audit_policy_change"]


def governor_for(ctx: HubContext, conn: Connection, stream: str, mapping: CompiledMapping) -> Governor | None:
    """None when no policy applies to the stream (no `purposes` declared, and not an offer under `stock`)."""
    ws = ctx.workspace()
    gov = ws.governance
    offers = gov.stock is not None and mapping.entity.name == "offer"
    if not (gov.governs or offers):
        return None
    # the loader refused a governed workspace whose connections lack these
    purpose, region = conn.destination.purpose or "", conn.destination.region or ""
    entity = mapping.entity
    unclassified = unclassified_fields(entity, gov.pii.get(conn.name, {}))
    return Governor(
        connection=conn.name,
        stream=stream,
        entity=entity.name,
        policies=build_policies(
            gov,
            conn.name,
            purpose,
            region,
            conn.writes_back,
            token_key(ctx.keyring.pseudonym_key()),
            stock=(lambda: load_stock(ctx, ws, gov)) if offers else None,
        ),
        key_fields=tuple(entity.key),
        load_people=lambda: load_people(ctx, ws, gov),
        unclassified=unclassified if gov.governs else (),
        purpose=purpose or None,
        region=region or None,
        policy_hash=gov.fingerprint(),
        table=conn.table_for(stream) if conn.destination.type == "sql" else None,
    )


def unclassified_fields(entity: Entity, pii_rules: Iterable[str]) -> tuple[str, ...]:
    """The entity's text fields neither marked pii nor under a PII rule: scanned for values
    that look like an email or a phone number (reported, not changed)."""
    ruled = set(pii_rules)
    return tuple(
        f.name
        for f in entity.fields
        if f.type == "string" and not f.pii and f.name not in ruled and f.name not in entity.key
    )


def _table_rows(ctx: HubContext, conn: Connection, table: str) -> list[dict[str, Any]]:
    dest = open_destination(conn.destination.type, destination_config(ctx, conn))
    try:
        if not isinstance(dest, SqlDestination) or not dest.has_table(table):
            return []  # not synced yet
        return dest.read_rows(table)
    finally:
        dest.close()


def load_people(ctx: HubContext, ws: Workspace, gov: GovernanceConfig) -> PersonIndex:
    """Consents from `governance.consents`, profiles from where `crossdock stitch` put them."""
    consents: list[dict[str, Any]] = []
    if gov.consents is not None:
        conn = ws.connections[gov.consents.connection]
        consents = _table_rows(ctx, conn, conn.table_for(gov.consents.stream))
    tables: dict[str, list[dict[str, Any]]] = {
        "profiles": [],
        "profile_identifiers": [],
        "profile_timeline": [],
    }
    try:
        from hub.identity.run import profile_destination

        dest, _ = profile_destination(ctx, ws)
    except ConfigError:  # no contact stream: no profiles, consents by email only
        dest = None
    if dest is not None:
        try:
            for name in tables:
                if dest.has_table(name):
                    tables[name] = dest.read_rows(name)
        finally:
            dest.close()
    return PersonIndex.build(
        gov, consents, tables["profiles"], tables["profile_identifiers"], tables["profile_timeline"]
    )


def load_stock(ctx: HubContext, ws: Workspace, gov: GovernanceConfig) -> dict[str, int]:
    """Units available per SKU from the tables the inventory (and catalog) streams last wrote."""
    rule = gov.stock
    if rule is None:
        return {}
    inv = ws.connections[rule.inventory.connection]
    levels = _table_rows(ctx, inv, inv.table_for(rule.inventory.stream))
    items: dict[str, str] = {}
    if rule.catalog is not None:
        cat = ws.connections[rule.catalog.connection]
        items = skus_of_items(_table_rows(ctx, cat, cat.table_for(rule.catalog.stream)))
    return stock_by_sku(levels, items)


def audit_policy_change(ctx: HubContext) -> None:
    """The governance block's hash against the last run's: a change is audited (old and new),
    as mapping changes are."""
    gov = ctx.workspace().governance
    new = gov.fingerprint() if gov.governs or gov.stock is not None else None
    old, changed = policy_hash_swap(ctx.engine, new)
    if changed:
        ctx.audit.append("policy.change", target="governance", details={"old_hash": old, "new_hash": new})
