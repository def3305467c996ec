"""Is anything listening at a connector's `base_url`? Asked once, before `check` talks to it.

`check` is asked by someone waiting at a terminal: a refused connection or a name that
does not resolve will not mend within the connector's minutes of retries, so it is one
line at once (what is wrong, and what to do), not a traceback after the backoff.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

__all__ = ["unreachable"]

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
        socket.create_connection((host, port), timeout=timeout).close()
    except socket.gaierror:
        return f"the host `{host}` of {url} does not resolve: check `base_url` and DNS"
    except ConnectionRefusedError:
        return f"nothing listens on {host}:{port} ({url}): {hint}"
    except TimeoutError:
        return f"no answer from {host}:{port} ({url}) within {timeout:g} s: {hint}"
    except OSError as exc:
        return f"{host}:{port} ({url}) cannot be reached ({exc.strerror or exc}): {hint}"
    return None
