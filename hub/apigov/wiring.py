"""Build the gate of one connection side from the workspace: which account it spends, that
account's budget, and the egress rules. Called by the connection factory (hub/connections.py).

The account is the one of `api_budgets.accounts` that lists the connection for this vendor;
otherwise it is named after the vendor, the host and a keyed hash of the credentials, so
connections with the same token on the same host share one budget without being told.
The vendor's documented limits apply on the vendor's hosts; a loopback base_url (the
sandbox) is budgeted only by what an account in crossdock.yaml declares.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

from sqlalchemy.engine import Engine

from hub.apigov.budget import Budget
from hub.apigov.config import ApiBudgetsSection
from hub.apigov.declared import ApiDeclaration
from hub.apigov.egress import LOOPBACK, EgressRules, Side
from hub.apigov.gate import ApiGate
from hub.apigov.ledger import RunKey

__all__ = ["build_gate", "egress_rules"]


def build_gate(
    *,
    section: ApiBudgetsSection,
    declaration: ApiDeclaration,
    connection: str,
    vendor: str | None,
    side: Side,
    base_url: str | None,
    secrets: list[str],
    key: bytes,
    engine: Engine,
    run: RunKey | None,
) -> ApiGate:
    host = (urlsplit(base_url).hostname if base_url else None) or declaration.default_host or "unknown"
    vendor_budget = Budget() if host in LOOPBACK else declaration.budget
    explicit = section.account_for(connection, vendor)
    if explicit is not None:
        account, entry = explicit[0], explicit[1]
        budget = vendor_budget.merged(entry.override())
    else:
        digest = hmac.new(key, "\0".join(sorted(secrets)).encode(), hashlib.sha256).hexdigest()[:10]
        account, budget = f"{vendor or 'api'}@{host}#{digest}", vendor_budget
    rules = egress_rules(section, declaration, connection, side)
    # A source's counts may wait in memory (it flushes at the end of each read); a write-back's
    # are written per call, so its stream's summary, read before the destination closes, has them.
    return ApiGate(
        account=account, budget=budget, rules=rules, engine=engine, run=run, buffered=side == "read"
    )


def egress_rules(
    section: ApiBudgetsSection, declaration: ApiDeclaration, connection: str, side: Side
) -> EgressRules:
    """The hosts and methods one side of a connection may call: the connector's declaration
    plus the workspace's allowlist."""
    return EgressRules(
        connection=connection,
        side=side,
        hosts=(*declaration.hosts, *section.allow_hosts),
        read_writes=tuple(declaration.read_writes),
        allow_loopback=section.allow_loopback,
    )
