"""crossdock.yaml's `api_budgets:` block: the egress allowlist and per-account overrides.

api_budgets:
  allow_hosts: [api.eu1.hubapi.com]     # beyond the hosts each connector declares
  accounts:
    hubspot_portal:                     # one HubSpot account shared by these connections
      vendor: hubspot
      connections: [crm, profiles_to_crm]
      windows: [{calls: 190, seconds: 10}]   # a Professional portal
      daily: 625000
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from hub.apigov.budget import Budget
from hub.errors import ConfigError
from hub.yaml_lines import line_of

__all__ = ["AccountBudget", "ApiBudgetsSection", "check_accounts"]


class AccountBudget(Budget):
    """One API account: the vendor's budget with the fields given here replaced."""

    vendor: str = Field(description="the connector whose API this account calls, e.g. hubspot")
    connections: list[str] = Field(default_factory=list, description="connections that use this account")

    def override(self) -> Budget:
        """The budget fields this entry sets, as a Budget (vendor and connections left out)."""
        fields = self.model_fields_set - {"vendor", "connections"}
        return Budget.model_validate({k: getattr(self, k) for k in fields})


class ApiBudgetsSection(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    allow_hosts: list[str] = Field(default_factory=list, description="hosts any connection may call")
    # 127.0.0.1, ::1 and localhost never leave the machine (the sandbox): allowed unless false
    allow_loopback: bool = True
    accounts: dict[str, AccountBudget] = Field(default_factory=dict)

    def account_for(self, connection: str, vendor: str | None) -> tuple[str, AccountBudget] | None:
        for name, account in self.accounts.items():
            if connection in account.connections and account.vendor == vendor:
                return name, account
        return None


def check_accounts(
    section: ApiBudgetsSection, connections: Mapping[str, tuple[str | None, str | None]], raw: Any, file: str
) -> None:
    """Each account's connections exist and call that account's vendor; none is in two
    accounts of one vendor. `connections`: name -> (source connector, write-back type)."""
    seen: dict[tuple[str, str], str] = {}
    for name, account in section.accounts.items():
        for i, conn in enumerate(account.connections):
            loc = ("api_budgets", "accounts", name, "connections", i)
            where = {"file": file, "line": line_of(raw, loc), "key": ".".join(map(str, loc))}
            if conn not in connections:
                raise ConfigError(f"no connection named `{conn}`", **where)  # type: ignore[arg-type]
            if account.vendor not in connections[conn]:
                raise ConfigError(
                    f"connection `{conn}` does not call {account.vendor} (its source and "
                    f"destination are {connections[conn][0] or '-'} and {connections[conn][1] or 'sql'})",
                    **where,  # type: ignore[arg-type]
                )
            if (conn, account.vendor) in seen:
                raise ConfigError(
                    f"connection `{conn}` is in account `{seen[conn, account.vendor]}` already",
                    **where,  # type: ignore[arg-type]
                )
            seen[conn, account.vendor] = name
