"""The gate under the airbyte-cdk's HTTP session: the CDK's `api_budget` hook.

The CDK's session calls `acquire_call(request)` before it sends each request, redirect hops
included, and `update_from_response(request, response)` after; DeclarativeSource puts this
budget in place of the one a manifest declares (hub/sources/declarative.py).
"""

from __future__ import annotations

import threading
from typing import Any

from airbyte_cdk.sources.streams.call_rate import AbstractAPIBudget, AbstractCallRatePolicy

from hub.apigov.gate import ApiGate, Ticket

__all__ = ["GateBudget"]


class GateBudget(AbstractAPIBudget):
    def __init__(self, gate: ApiGate) -> None:
        self.gate = gate
        self._tickets: dict[int, Ticket] = {}
        # requests follows a redirect inside the first send, in the same thread: a request
        # acquired while this thread still waits for an answer is a redirect hop.
        self._sending = threading.local()

    def _pending(self) -> list[int]:
        pending: list[int] | None = getattr(self._sending, "pending", None)
        if pending is None:
            pending = self._sending.pending = []
        return pending

    def acquire_call(self, request: Any, block: bool = True, timeout: float | None = None) -> None:
        pending = self._pending()
        if id(request) in pending:  # sent again after a failed send (the CDK retries it)
            pending.clear()
            failed = self._tickets.pop(id(request), None)
            if failed is not None:  # no answer came: free its in-flight slot
                self.gate.settle(failed, request.method or "GET", request.url or "", None, {})
        ticket = self.gate.acquire(request.method or "GET", request.url or "", redirect=bool(pending))
        self._tickets[id(request)] = ticket
        pending.append(id(request))

    def update_from_response(self, request: Any, response: Any) -> None:
        pending = self._pending()
        if id(request) in pending:
            del pending[pending.index(id(request)) :]
        ticket = self._tickets.pop(id(request), Ticket())
        # Redirects were followed (or refused) inside the send already: settle without Location.
        headers = {k.lower(): v for k, v in response.headers.items() if k.lower() != "location"}
        self.gate.settle(ticket, request.method or "GET", request.url or "", response.status_code, headers)

    def get_matching_policy(self, request: Any) -> AbstractCallRatePolicy | None:
        return None  # the hub's budget is no CDK policy; nothing asks for one but the CDK's own
