"""The gate every outbound request of a connection passes: egress rules, then the account's
shared budget (waiting for room, or stopping at the daily quota), then, with the answer,
what the API says about the budget (429, Shopify's bucket header, Facebook's usage).

One gate per connection side (its source reads, or its write-back) and run stream. It
keeps no counts of its own: the ledger in the store does, so a gate used in a forked
source process (hub/sources/_child.py) reports through the same rows as the parent.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urljoin, urlsplit

from sqlalchemy.engine import Engine

from hub.apigov import ledger
from hub.apigov.budget import Budget
from hub.apigov.egress import EgressRefused, EgressRules
from hub.errors import FatalError

__all__ = ["ApiGate", "QuotaExhausted", "Ticket"]

log = logging.getLogger("crossdock.apigov")

_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class QuotaExhausted(FatalError):
    """The account's daily call quota is spent: the stream stopped at its last checkpoint
    and resumes, from there, once `resume_at` has passed."""

    def __init__(self, message: str, resume_at: datetime) -> None:
        super().__init__(message)
        self.resume_at = resume_at


@dataclass(frozen=True)
class Ticket:
    slot: int | None = None


@dataclass
class ApiGate:
    account: str
    budget: Budget
    rules: EgressRules
    engine: Engine  # the hub store; a reader process gets its own (pickled as its URL)
    run: ledger.RunKey | None = None
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    # On an account without limits nothing needs a grant: the calls are counted in memory and
    # written every FLUSH_SECONDS and by `flush()` (a source flushes at the end of each read).
    # A connector reading a fast API (the sandbox) then pays no store write per page.
    buffered: bool = False
    _unflushed: int = 0
    _flushed_at: float = 0.0
    _paused_until: float = 0.0

    FLUSH_SECONDS = 0.5

    def __getstate__(self) -> dict[str, object]:
        """Pickled for a reader process (hub/sources/_forkserver.py): the store by its URL."""
        state = dict(self.__dict__)
        state["engine"] = self.engine.url.render_as_string(hide_password=False)
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        from hub.store.engine import get_engine

        state["engine"] = get_engine(str(state["engine"]))
        self.__dict__.update(state)

    def acquire(self, method: str, url: str, *, redirect: bool = False) -> Ticket:
        """Check the request against the egress rules, then take one call from the budget,
        waiting as long as the account needs. Raises EgressRefused or QuotaExhausted."""
        try:
            self.rules.check(method, url, redirect=redirect)
        except EgressRefused as exc:
            self._refused(exc, method, url)
            raise
        if self.buffered and self.budget.unlimited:
            return self._count_only()
        path = urlsplit(url).path
        waited = 0.0
        while True:
            grant = ledger.take(
                self.engine, self.account, self.budget, path, run=self.run, waited=waited, clock=self.clock
            )
            if grant.quota_until is not None:
                raise QuotaExhausted(
                    f"the daily API quota of account `{self.account}` ({self.budget.daily:,} calls, "
                    f"shared by every connection of the account) is used up; the stream stopped at its "
                    f"last checkpoint and can resume after {grant.quota_until:%Y-%m-%d %H:%M} UTC "
                    "(`crossdock api usage`)",
                    grant.quota_until,
                )
            if grant.wait <= 0:
                return Ticket(grant.slot)
            self.sleep(grant.wait)
            waited += grant.wait

    def _count_only(self) -> Ticket:
        now = self.clock()
        if now - self._flushed_at >= self.FLUSH_SECONDS:
            self.flush()
        if self._paused_until > now:  # a 429 elsewhere on the account (read at the last flush)
            self.sleep(self._paused_until - now)
        self._unflushed += 1
        return Ticket()

    def flush(self) -> None:
        """Write the calls counted in memory (and learn of a pause another process set)."""
        calls, self._unflushed = self._unflushed, 0
        self._flushed_at = now = self.clock()
        self._paused_until = ledger.add(self.engine, self.account, self.run, now, calls)

    def settle(
        self, ticket: Ticket, method: str, url: str, status: int | None, headers: Mapping[str, str]
    ) -> None:
        """After the answer (status None: no answer came). A redirect to a host the rules refuse
        is refused here, before it is followed."""
        ledger.settle(
            self.engine,
            self.account,
            self.budget,
            ticket.slot,
            status,
            headers,
            run=self.run,
            now=self.clock(),
        )
        location = headers.get("location") if status in _REDIRECTS else None
        if location:
            location = urljoin(url, location)
            try:
                self.rules.check(method, location, redirect=True)
            except EgressRefused as exc:
                self._refused(exc, method, location)
                raise

    def _refused(self, exc: EgressRefused, method: str, url: str) -> None:
        parts = urlsplit(url)
        log.warning("%s", exc)
        ledger.refuse(
            self.engine,
            self.account,
            self.run,
            self.clock(),
            {
                "connection": self.rules.connection,
                "rule": exc.rule,
                "method": method.upper(),
                "host": parts.hostname or "",
                "path": _endpoint(parts.path),
                "reason": str(exc),
            },
        )


def _endpoint(path: str) -> str:
    """The path as the audit keeps it: no query (it may hold personal data), and a segment
    that holds an email (HubSpot reads a contact by it) masked."""
    return "/".join("<masked>" if "@" in part or "%40" in part else part for part in path.split("/"))
