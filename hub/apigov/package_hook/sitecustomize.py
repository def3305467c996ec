"""Loaded by a connector package's own Python (the hub puts this folder on its PYTHONPATH):
every request the package sends through `requests` (the Airbyte Python CDK's HTTP client, its
OAuth refreshes included) first asks the hub's API gate, over a local socket, and reports the
answer's status and headers back. A refusal (egress, daily quota) raises here, before a byte is
sent, and every later request of the process is refused too (so a retry cannot get through).

Runs under the package's Python and packages, not the hub's: the standard library only.
"""

import json
import os
import socket
import threading

_GATE = os.environ.get("CROSSDOCK_API_GATE")


class GateRefused(Exception):
    """The hub's API gate refused this request (the hub's run says why)."""


def _install(path):
    try:
        from requests.adapters import HTTPAdapter
    except ImportError:  # a package without requests: nothing of it to govern here
        return
    local = threading.local()
    refused = []

    def ask(message):
        conn = getattr(local, "conn", None)
        if conn is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(path)
            conn = local.conn = (sock, sock.makefile("rb"))
        conn[0].sendall(json.dumps(message).encode() + b"\n")
        reply = json.loads(conn[1].readline() or b'{"refused": "the hub\'s API gate closed"}')
        if "refused" in reply:
            refused.append(reply["refused"])
            raise GateRefused(reply["refused"])
        return reply

    send = HTTPAdapter.send

    def governed_send(self, request, *args, **kwargs):
        if refused:
            raise GateRefused(refused[0])
        method, url = request.method or "GET", request.url or ""
        ticket = ask({"op": "acquire", "method": method, "url": url})["ticket"]
        try:
            response = send(self, request, *args, **kwargs)
        except BaseException:
            ask(
                {
                    "op": "settle",
                    "ticket": ticket,
                    "method": method,
                    "url": url,
                    "status": None,
                    "headers": {},
                }
            )
            raise
        headers = {k.lower(): v for k, v in response.headers.items()}
        ask(
            {
                "op": "settle",
                "ticket": ticket,
                "method": method,
                "url": url,
                "status": response.status_code,
                "headers": headers,
            }
        )
        return response

    HTTPAdapter.send = governed_send


if _GATE:
    _install(_GATE)
