"""The API gate for connector packages: their HTTP runs in their own process and virtualenv,
so the gate is served to them over a Unix socket while they run.

The package's Python loads `package_hook/sitecustomize.py` (its PYTHONPATH), which asks this
server before each request it sends through `requests` and reports each answer; the server
runs the connection's ApiGate in the hub's process, so a package's calls take from the same
store-held budget, follow the same egress rules and are counted and audited the same way as a
declarative connector's. What it does not see: HTTP a package sends without `requests`.
"""

from __future__ import annotations

import json
import logging
import socketserver
import tempfile
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

from hub.apigov.egress import EgressRefused
from hub.apigov.gate import ApiGate, QuotaExhausted, Ticket

__all__ = ["PackageGate", "HOOK_DIR"]

HOOK_DIR = Path(__file__).parent / "package_hook"
_log = logging.getLogger("crossdock.apigov")


class PackageGate:
    """`with PackageGate(gate) as g:` run the package with `g.env()`; afterwards `g.stopped`
    holds the refusal or quota stop that ended it, if one did."""

    def __init__(self, gate: ApiGate) -> None:
        self.gate = gate
        self.stopped: EgressRefused | QuotaExhausted | None = None
        self._tmp = Path(tempfile.mkdtemp(prefix="crossdock-gate-"))  # 0700: only this user connects
        self.path = str(self._tmp / "gate.sock")
        owner = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                tickets: dict[int, Ticket] = {}
                for line in self.rfile:
                    reply = owner._answer(json.loads(line), tickets)
                    self.wfile.write(json.dumps(reply).encode() + b"\n")

        self._server = socketserver.ThreadingUnixStreamServer(self.path, Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="crossdock-package-gate")

    def env(self) -> dict[str, str]:
        """What the package's process needs in its environment to go through the gate."""
        return {"CROSSDOCK_API_GATE": self.path, "PYTHONPATH": str(HOOK_DIR)}

    def __enter__(self) -> PackageGate:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
        Path(self.path).unlink(missing_ok=True)
        self._tmp.rmdir()
        self.gate.flush()  # the counts a source keeps in memory

    def _answer(self, message: dict[str, Any], tickets: dict[int, Ticket]) -> dict[str, Any]:
        method, url = str(message.get("method") or "GET"), str(message.get("url") or "")
        try:
            if message.get("op") == "acquire":
                ticket = self.gate.acquire(method, url)
                tickets[id(ticket)] = ticket
                return {"ticket": id(ticket)}
            ticket = tickets.pop(int(message.get("ticket") or 0), Ticket())
            status = message.get("status")
            self.gate.settle(
                ticket, method, url, int(status) if status is not None else None, message["headers"]
            )
            return {}
        except (EgressRefused, QuotaExhausted) as refused:  # recorded by the gate already
            self.stopped = self.stopped or refused
            return {"refused": str(refused)}
        except Exception as exc:  # the store failed: refuse rather than send ungoverned
            _log.warning("the API gate failed for a connector package: %s", exc)
            return {"refused": f"the hub's API gate failed: {exc}"}
