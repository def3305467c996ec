"""A small, fast HTTP server for the emulated APIs: a router, faults and counters.

stdlib ThreadingHTTPServer with HTTP/1.1 keep-alive and Nagle disabled: without
TCP_NODELAY a keep-alive client stalls ~40 ms per response on delayed ACKs.
"""

from __future__ import annotations

import base64
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

from hub.sandbox.data_faults import apply_data_faults
from hub.sandbox.faults import Fault, Faults
from hub.sandbox.limits import RateLimits

__all__ = ["Request", "Response", "Router", "SandboxServer", "json_response", "credentials", "PageHooks"]


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    params: dict[str, str] = field(default_factory=dict)

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> Any:
        return orjson.loads(self.body) if self.body else None


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


def credentials(req: Request) -> tuple[str, str, str]:
    """("bearer", token, "") or ("basic", user, password) from the Authorization header; else ("", "", "")."""
    auth = req.headers.get("authorization", "")
    if auth.startswith("Bearer "):
        return "bearer", auth[7:], ""
    if auth.startswith("Basic "):
        try:
            user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
        except ValueError:
            return "", "", ""
        return "basic", user, password
    return "", "", ""


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(status, orjson.dumps(data), headers or {})


Handler = Callable[[Request], Response]


@dataclass
class _PageHook:
    path_prefix: str
    page: int
    action: Callable[[Response], Any]
    method: str
    served: int = 0


class PageHooks:
    """Changes a test makes while a read is under way: `after(prefix, n, action)` runs
    `action(response)` once, when the sandbox has answered its n-th successful request under
    `prefix`, before that response leaves (the response says what the client has read). The
    client asks for page n + 1 only after it has page n, so the change lands between the two
    pages, as a record edited during a long read does."""

    def __init__(self) -> None:
        self._hooks: list[_PageHook] = []
        self._lock = threading.Lock()

    def after(
        self, path_prefix: str, page: int, action: Callable[[Response], Any], method: str = "GET"
    ) -> None:
        if page < 1:
            raise ValueError(f"page counts from 1, got {page}")
        with self._lock:
            self._hooks.append(_PageHook(path_prefix, page, action, method))

    def pending(self) -> int:
        """Hooks that have not run yet (a test checks its read got that far)."""
        with self._lock:
            return len(self._hooks)

    def served(self, method: str, path: str, resp: Response) -> None:
        if not 200 <= resp.status < 300:
            return  # a fault or an error is not a page the client moves past
        with self._lock:
            due = []
            for hook in self._hooks:
                if hook.method == method and path.startswith(hook.path_prefix):
                    hook.served += 1
                    if hook.served == hook.page:
                        due.append(hook)
            for hook in due:
                self._hooks.remove(hook)
        for hook in due:
            hook.action(resp)


class Router:
    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        # How a product words its errors (for faults and 404s on its paths).
        self._error_bodies: list[tuple[str, Callable[[int, str], Any]]] = []
        self._extra_headers: list[tuple[str, Callable[[], dict[str, str]]]] = []
        # How a product saves and puts back its data (for the `dropped` fault).
        self._keepers: list[tuple[str, tuple[Callable[[], Any], Callable[[Any], None]]]] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$")
        self._routes.append((method, regex, handler))

    def product(
        self,
        prefix: str,
        error_body: Callable[[int, str], Any],
        headers: Callable[[], dict[str, str]] | None = None,
        keep: tuple[Callable[[], Any], Callable[[Any], None]] | None = None,
    ) -> None:
        self._error_bodies.append((prefix, error_body))
        if headers:
            self._extra_headers.append((prefix, headers))
        if keep:
            self._keepers.append((prefix, keep))

    def saved(self, path: str) -> Callable[[], None] | None:
        """For a `dropped` fault: a function putting the product's data back as it is now;
        None when the product under `path` cannot."""
        for prefix, (save, restore) in self._keepers:
            if path.startswith(prefix):
                snapshot = save()
                return lambda: restore(snapshot)
        return None

    def error(self, path: str, status: int, message: str) -> Response:
        for prefix, body in self._error_bodies:
            if path.startswith(prefix):
                return json_response(body(status, message), status)
        return json_response({"error": message}, status)

    def headers_for(self, path: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for prefix, fn in self._extra_headers:
            if path.startswith(prefix):
                out.update(fn())
        return out

    def resolve(self, method: str, path: str) -> tuple[Handler, dict[str, str]] | None:
        for m, regex, handler in self._routes:
            if m == method and (match := regex.match(path)):
                return handler, match.groupdict()
        return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: SandboxServer

    def _serve(self) -> None:
        self.server.dispatch(self)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:  # stdlib signature
        pass  # the sandbox is quiet; counters say what it served


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host: str, port: int, router: Router, faults: Faults) -> None:
        super().__init__((host, port), _Handler)
        self.router, self.faults = router, faults
        self.hits: Counter[tuple[str, int]] = Counter()
        self.hooks = PageHooks()
        self.limits = RateLimits()  # per-account rate limits: over-limit calls are refused
        self._lock = threading.Lock()

    def dispatch(self, h: _Handler) -> None:
        split = urlsplit(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        req = Request(
            h.command, split.path, parse_qs(split.query), {k.lower(): v for k, v in h.headers.items()}, body
        )
        retry_after = self.limits.admit(req.path, req.headers.get("authorization", ""))
        if retry_after is not None:  # over the account's limit: refused, as the vendor does
            resp = self.router.error(req.path, 429, _FAULT_MESSAGES["429"])
            resp.headers["Retry-After"] = f"{max(retry_after, 0.01):.2f}"
            with self._lock:
                self.hits[(req.path, resp.status)] += 1
            self._send(h, resp)
            return
        fault = self.faults.take(req.method, req.path)
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.delay)
            fault = None
        if fault is not None and fault.kind == "lost":
            self._handle(req)  # the change is made; the client never hears of it
            resp = self.router.error(req.path, 500, _FAULT_MESSAGES["500"])
        elif fault is not None and fault.kind == "dropped":
            undo = self.router.saved(req.path)
            if undo is None:  # not carried out: a product that cannot undo must not pretend
                resp = self.router.error(req.path, 500, "the sandbox cannot drop writes on this path")
            else:
                resp = self._handle(req)  # answered as done ...
                undo()  # ... and not kept
        elif fault is not None and fault.kind not in ("malformed", "truncated"):
            resp = self.router.error(req.path, int(fault.kind), _FAULT_MESSAGES[fault.kind])
            if fault.kind == "429":
                resp.headers["Retry-After"] = f"{fault.retry_after:g}"
        else:
            resp = self._handle(req)
            if resp.status in (200, 207) and (data_faults := self.faults.data_faults(req.method, req.path)):
                resp = self._shape_data(req, resp, data_faults)
            if fault is not None and fault.kind == "malformed":
                resp = Response(200, b"<html><body><h1>502 Bad Gateway</h1></body></html>")
            elif fault is not None and fault.kind == "truncated":
                resp = Response(200, resp.body[: len(resp.body) // 2], resp.headers)
        with self._lock:
            self.hits[(req.path, resp.status)] += 1
        if fault is None:
            self.hooks.served(req.method, req.path, resp)
        self._send(h, resp)

    def _shape_data(self, req: Request, resp: Response, faults: list[Fault]) -> Response:
        body, hit = apply_data_faults(faults, req.path, resp.body)
        for fault in hit:
            self.faults.shaped(fault)
        if body is None:  # the record itself, hard-deleted
            return self.router.error(req.path, 404, "Object not found.")
        return resp if body is resp.body else Response(resp.status, body, resp.headers, resp.content_type)

    def _handle(self, req: Request) -> Response:
        found = self.router.resolve(req.method, req.path)
        if found is None:
            return self.router.error(req.path, 404, f"no route {req.method} {req.path}")
        handler, req.params = found
        try:
            return handler(req)
        except orjson.JSONDecodeError:
            return self.router.error(req.path, 400, "request body is not valid JSON")

    def _send(self, h: _Handler, resp: Response) -> None:
        h.send_response(resp.status)
        h.send_header("Content-Type", resp.content_type)
        h.send_header("Content-Length", str(len(resp.body)))
        for k, v in {**self.router.headers_for(h.path), **resp.headers}.items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(resp.body)


_FAULT_MESSAGES = {
    "429": "You have reached your secondly limit.",
    "500": "internal error",
    "502": "bad gateway",
    "503": "service unavailable",
}
