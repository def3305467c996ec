"""Where a connection may send requests, and which methods a read connection may use.

Host rules are data: the hosts the connector declares (connectors/<name>/api.yaml), the
workspace's `api_budgets.allow_hosts`, and loopback (the sandbox, which never leaves the
machine) unless `allow_loopback: false`. A read connection calls GET/HEAD/OPTIONS only, plus
the write methods its connector declares its read API needs (HubSpot's search POST).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from hub.apigov.budget import path_matches
from hub.errors import FatalError

__all__ = ["EgressRules", "EgressRefused", "Side", "LOOPBACK"]

Side = Literal["read", "write"]
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class EgressRefused(FatalError):
    """A request the connection may not send; nothing was sent. Fix the config (base_url,
    `api_budgets.allow_hosts`) or the connector's api.yaml, not a retry."""

    def __init__(self, message: str, rule: str) -> None:
        super().__init__(message)
        self.rule = rule


@dataclass(frozen=True)
class EgressRules:
    connection: str
    side: Side
    hosts: tuple[str, ...]  # declared by the connector, then allowed by the workspace
    read_writes: tuple[str, ...] = ()  # "POST /path/*"
    allow_loopback: bool = True

    def host_allowed(self, host: str) -> bool:
        host = host.lower().strip("[]")
        if self.allow_loopback and host in LOOPBACK:
            return True
        return any(fnmatch.fnmatchcase(host, pattern.lower()) for pattern in self.hosts)

    def check(self, method: str, url: str, *, redirect: bool = False) -> None:
        """Raise EgressRefused unless this request may be sent."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        if not self.host_allowed(host):
            rule = "redirect" if redirect else "host"
            what = "a redirect to" if redirect else "a request to"
            raise EgressRefused(
                f"connection `{self.connection}`: {what} {host or url!r} refused before sending: the "
                f"connector declares {', '.join(self.hosts) or 'no host'}; if {host} is right, add it "
                "to `api_budgets.allow_hosts` in crossdock.yaml (docs/api-governance.md)",
                rule,
            )
        method = method.upper()
        if self.side == "read" and method not in _READ_METHODS and not self._declared(method, parts.path):
            raise EgressRefused(
                f"connection `{self.connection}` reads, and {method} {parts.path} writes: refused before "
                "sending (a read connection calls only the write methods its connector declares in "
                "`read_writes` of its api.yaml)",
                "method",
            )

    def _declared(self, method: str, path: str) -> bool:
        for entry in self.read_writes:
            declared_method, _, pattern = entry.partition(" ")
            if declared_method == method and path_matches(path, [pattern]):
                return True
        return False
