"""The gate under the hub's own httpx client (the write-backs' ApiClient)."""

from __future__ import annotations

import httpx

from hub.apigov.gate import ApiGate

__all__ = ["GatedTransport"]


class GatedTransport(httpx.BaseTransport):
    """Every request through `inner` passes the gate first (when one is set)."""

    def __init__(self, inner: httpx.BaseTransport | None = None) -> None:
        self.inner = inner or httpx.HTTPTransport()
        self.gate: ApiGate | None = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        gate = self.gate
        if gate is None:
            return self.inner.handle_request(request)
        url = str(request.url)
        ticket = gate.acquire(request.method, url)
        try:
            response = self.inner.handle_request(request)
        except BaseException:
            gate.settle(ticket, request.method, url, None, {})
            raise
        gate.settle(ticket, request.method, url, response.status_code, response.headers)
        return response

    def close(self) -> None:
        self.inner.close()
