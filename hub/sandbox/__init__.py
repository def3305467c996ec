"""The sandbox: emulated SaaS APIs on 127.0.0.1 with seeded data and switchable faults.

with Sandbox(seed=42, scale=1000) as sb:      # scale = CRM contacts
    sb.url                                     # http://127.0.0.1:<port>
    sb.hubspot.update("contacts", "17", {"city": "Oslo"})
    with sb.faults.planted("/crm/v3/objects/contacts", "429", times=3, retry_after=0.5):
        ...                                    # fails unless the 429 was served 3 times
    sb.zendesk.create("tickets", {"requester_id": ..., "subject": "Help"})
"""

from __future__ import annotations

import threading
from typing import Any, cast

import orjson

from hub.sandbox import server as _http
from hub.sandbox.facebook import AUDIENCE_ID, Facebook
from hub.sandbox.facebook_pages import PAGE_ID, FacebookPages
from hub.sandbox.faults import FAULT_KINDS, Fault, Faults
from hub.sandbox.hubspot import HubSpot
from hub.sandbox.mailchimp import Mailchimp
from hub.sandbox.onetrust import OneTrust
from hub.sandbox.shopify import Shopify
from hub.sandbox.zendesk import Zendesk

__all__ = [
    "Sandbox",
    "serve",
    "Faults",
    "Fault",
    "FAULT_KINDS",
    "HubSpot",
    "Zendesk",
    "Mailchimp",
    "Facebook",
    "FacebookPages",
    "Shopify",
    "OneTrust",
]


class Sandbox:
    def __init__(
        self,
        seed: int = 42,
        scale: int = 1000,
        port: int = 0,
        token: str = "sandbox-token",
        host: str = "127.0.0.1",
    ) -> None:
        self.seed, self.scale, self.token = seed, scale, token
        self.faults = Faults()
        self.hubspot = HubSpot(seed, scale, token)
        self.zendesk = Zendesk(seed, scale, token)
        self.mailchimp = Mailchimp(seed, scale, token)
        self.facebook = Facebook(token)
        self.facebook_pages = FacebookPages(seed, scale, token)
        self.shopify = Shopify(seed, token, scale)
        self.onetrust = OneTrust(token, seed, scale)
        router = _http.Router()
        self.hubspot.register(router)
        self.zendesk.register(router)
        self.mailchimp.register(router)
        self.facebook.register(router)
        self.facebook_pages.register(router)
        self.shopify.register(router)
        self.onetrust.register(router)
        router.add("POST", "/_sandbox/faults", self._add_fault)
        router.add("DELETE", "/_sandbox/faults", self._clear_faults)
        router.add("GET", "/_sandbox/stats", self._stats)
        self._server = _http.SandboxServer(host, port, router, self.faults)
        self.hooks = self._server.hooks  # sb.hooks.after(path, n, change): change after page n
        self.limits = self._server.limits  # sb.limits.set(prefix, calls, seconds): per account
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        # A TCP server's address: (host, port), host a str (the stubs allow unix-socket forms).
        host, port = cast("tuple[str, int]", self._server.server_address)[:2]
        return f"http://{host}:{port}"

    @property
    def hits(self) -> dict[tuple[str, int], int]:
        """(path, status) -> responses served."""
        return dict(self._server.hits)

    def start(self) -> Sandbox:
        self._thread = threading.Thread(target=self._server.serve_forever, name="sandbox", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # admin routes, for tests and tools in another process
    def _add_fault(self, req: _http.Request) -> _http.Response:
        try:
            fault = self.faults.add(**(req.json() or {}))
        except (TypeError, ValueError) as exc:
            return _http.json_response({"error": str(exc)}, 400)
        return _http.json_response(fault.__dict__, 201)

    def _clear_faults(self, _req: _http.Request) -> _http.Response:
        self.faults.clear()
        return _http.json_response({"cleared": True})

    def _stats(self, _req: _http.Request) -> _http.Response:
        return _http.Response(
            200,
            orjson.dumps([{"path": p, "status": s, "count": n} for (p, s), n in sorted(self.hits.items())]),
        )


def serve(port: int = 8765, seed: int = 42, scale: int = 1000, host: str = "127.0.0.1") -> None:
    """Run the sandbox in the foreground until Ctrl-C (`crossdock sandbox`)."""
    sandbox = Sandbox(seed=seed, scale=scale, port=port, host=host)
    print(
        f"sandbox serving on {sandbox.url}  (Bearer token: {sandbox.token}; {scale:,} contacts, seed {seed})",
        flush=True,
    )
    print("  HubSpot CRM v3: /crm/v3/objects/contacts, /crm/v3/objects/companies, .../search", flush=True)
    print(
        "  Zendesk Support v2: /api/v2/incremental/{users,tickets}/cursor.json, "
        "/api/v2/incremental/organizations.json",
        flush=True,
    )
    print(
        "  Mailchimp Marketing v3: /3.0/lists, /3.0/lists/{id}/members, /3.0/campaigns, "
        "/3.0/reports/{id}/email-activity, POST /3.0/lists/{id}",
        flush=True,
    )
    print(
        "  HubSpot writes: /crm/v3/objects/{type}/batch/upsert; Zendesk writes: "
        "/api/v2/users/create_or_update_many.json",
        flush=True,
    )
    print(
        f"  Facebook Custom Audiences: /v19.0/{AUDIENCE_ID}/users (POST adds, DELETE removes); "
        f"Pages: /v19.0/{PAGE_ID}/posts, /v19.0/{{post_id}}/comments, /v19.0/{PAGE_ID}/insights",
        flush=True,
    )
    print(
        "  Shopify Admin 2024-01: /admin/api/2024-01/products.json, .../inventory_levels/set.json", flush=True
    )
    print(
        "  OneTrust: GET /api/consentmanager/v1/datasubjects/profiles, POST /request/v1/consentreceipts",
        flush=True,
    )
    print(
        "  Erasure: POST /crm/v3/objects/contacts/gdpr-delete, POST /3.0/lists/{id}/members/{hash}/"
        "actions/delete-permanent, DELETE /api/v2/users/{id} + /api/v2/deleted_users/{id}, "
        "DELETE /admin/api/2024-01/customers/{id}.json, DELETE /api/consentmanager/v2/datasubjects",
        flush=True,
    )
    try:
        sandbox.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        sandbox._server.server_close()
