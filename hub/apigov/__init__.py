"""API governance, outbound: every request the hub sends to a SaaS API passes a gate that
enforces the connection's egress rules and takes from its account's shared rate budget and
daily quota, held in the hub store (docs/api-governance.md)."""

from hub.apigov.budget import Bucket, Budget, Window
from hub.apigov.config import AccountBudget, ApiBudgetsSection, check_accounts
from hub.apigov.declared import ApiDeclaration, declaration_for
from hub.apigov.egress import EgressRefused, EgressRules
from hub.apigov.gate import ApiGate, QuotaExhausted, Ticket
from hub.apigov.ledger import RunKey
from hub.apigov.report import audit_refusals, daily_usage, failure_reason, stream_usage
from hub.apigov.transport import GatedTransport
from hub.apigov.wiring import build_gate

__all__ = [
    "AccountBudget",
    "ApiBudgetsSection",
    "ApiDeclaration",
    "ApiGate",
    "Bucket",
    "Budget",
    "EgressRefused",
    "EgressRules",
    "GatedTransport",
    "QuotaExhausted",
    "RunKey",
    "Ticket",
    "Window",
    "audit_refusals",
    "build_gate",
    "check_accounts",
    "daily_usage",
    "declaration_for",
    "failure_reason",
    "stream_usage",
]
