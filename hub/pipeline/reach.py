"""Is anything listening at a connection's API? Asked before `check` and before a sync reads.

A refused connection or a name that does not resolve will not mend within the connector's
minutes of retries: `check` (someone waiting at a terminal) says so in one line at once;
a sync tries again for a few seconds (`unreachable_retry_seconds`: an API restarting), then
fails the run with that line, recorded in `runs` and the audit log.
"""

from __future__ import annotations

import socket
import ssl
import time
from urllib.parse import urlsplit

from hub.apigov import declaration_for
from hub.apigov.egress import Side
from hub.apigov.wiring import egress_rules
from hub.connections import destination_config
from hub.context import HubContext
from hub.workspace import Connection

__all__ = ["unreachable", "api_urls", "still_unreachable", "reachable_or_fail"]

_LOCAL = {"127.0.0.1", "localhost", "::1", "0.0.0.0"}  # names, not a bind


def unreachable(url: str, timeout: float = 5.0) -> str | None:
    """Why nothing can be reached at `url` (one line, with what to do); None if something
    accepts a connection there, or the URL names no host to try."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return f"`{url}` is not a URL: fix `base_url`"
    if not host:
        return None
    port = port or (443 if parts.scheme == "https" else 80)
    hint = (
        "is the sandbox running? `crossdock sandbox`"
        if host in _LOCAL
        else "check `base_url`, the network and any proxy"
    )
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
        try:
            if parts.scheme == "https":  # a certificate or protocol mismatch will not mend either
                ssl.create_default_context().wrap_socket(sock, server_hostname=host).close()
        finally:
            sock.close()
    except ssl.SSLError as exc:
        return (
            f"the TLS handshake with {host}:{port} ({url}) failed ({exc.reason or exc}): check the "
            "scheme of `base_url` (https to a plain-http server fails this way) and the server's certificate"
        )
    except socket.gaierror:
        return f"the host `{host}` of {url} does not resolve: check `base_url` and DNS"
    except ConnectionRefusedError:
        return f"nothing listens on {host}:{port} ({url}): {hint}"
    except TimeoutError:
        return f"no answer from {host}:{port} ({url}) within {timeout:g} s: {hint}"
    except OSError as exc:
        return f"{host}:{port} ({url}) cannot be reached ({exc.strerror or exc}): {hint}"
    return None


def api_urls(ctx: HubContext, conn: Connection, dry_run: bool = False) -> list[str]:
    """The `base_url`s a run of `conn` talks to: its source's, and a write-back's destination's
    (not in a dry run, which calls no API). A host the egress rules refuse is left out: even a
    probe must not reach it; the run's first request is refused and audited (hub/apigov)."""
    urls = []
    if conn.source.config.get("base_url"):
        url = str(
            ctx.resolve(
                conn.source.config["base_url"],
                where=f"connections.{conn.name}.source.config.base_url",
                secret=lambda name: ctx.secret(name, used_by=conn.name),
            )
        )
        if conn.source.connector is None or _egress_allows(ctx, conn, conn.source.connector, "read", url):
            urls.append(url)
    if conn.writes_back and not dry_run and destination_config(ctx, conn).get("base_url"):
        url = str(destination_config(ctx, conn)["base_url"])
        if _egress_allows(ctx, conn, conn.destination.type, "write", url):
            urls.append(url)
    return urls


def _egress_allows(ctx: HubContext, conn: Connection, vendor: str, side: Side, url: str) -> bool:
    declared = declaration_for(ctx.workspace_dir, vendor)
    rules = egress_rules(ctx.workspace().api_budgets, declared, conn.name, side)
    return rules.host_allowed(urlsplit(url).hostname or "")


def still_unreachable(urls: list[str], budget: float, pause: float = 1.0) -> str | None:
    """Why one of `urls` cannot be reached after trying for `budget` seconds (None: all can)."""
    deadline = time.monotonic() + budget
    while True:
        why = next((w for w in (unreachable(u, timeout=min(5.0, max(budget, 0.5))) for u in urls) if w), None)
        if why is None or time.monotonic() + pause > deadline:
            return why
        time.sleep(pause)


def reachable_or_fail(ctx: HubContext, conn: Connection, dry_run: bool = False) -> None:
    """Raise FatalError (one line: what is wrong, what to do) when the connection's API cannot
    be reached within `unreachable_retry_seconds`."""
    from hub.errors import FatalError

    why = still_unreachable(api_urls(ctx, conn, dry_run), conn.unreachable_retry_seconds)
    if why:
        raise FatalError(
            f"{why} (tried for {conn.unreachable_retry_seconds:g} s: `unreachable_retry_seconds` "
            f"of connection `{conn.name}` sets how long)"
        )
