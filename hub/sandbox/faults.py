"""Faults a test can switch on per route: 429 with Retry-After, 5xx, slow, malformed, truncated,
`lost` (the request is carried out, then answered with a 500, as when a response is lost), and
`dropped` (answered as carried out, then undone, as when a vendor silently loses a write).

Tests plant them with `planted`, which proves on leaving the block that the fault was served:
a test about a lost response must fail if no response was ever lost.

    with sandbox.faults.planted("/crm/v3/objects/contacts", "429", times=3) as fault:
        sync(...)
    # here: fault.served == 3, or the test failed naming the fault and where it was planted
"""

from __future__ import annotations

import sys
import threading
from collections import Counter
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from hub.errors import HubError

__all__ = ["Fault", "Faults", "FaultNotServed", "Planted", "FAULT_KINDS", "DATA_FAULT_KINDS"]

FAULT_KINDS = (
    "429",
    "500",
    "502",
    "503",
    "slow",
    "malformed",
    "truncated",
    "lost",
    "skip",
    "deleted",
    "stale",
    # `dropped`: the write is answered as done, then not kept (a vendor that accepted it and lost
    # it; only write-back reconciliation can tell). On the products that can put their data back
    # (HubSpot, Mailchimp, Zendesk users, Shopify levels, OneTrust: `Router.product(..., keep=...)`);
    # elsewhere it answers 500.
    "dropped",
)
# Faults in the data rather than the HTTP exchange (hub/sandbox/data_faults.py), each about one
# record (`record`, its id): `skip` a list page leaves it out (a cursor that skipped it),
# `deleted` it is gone (lists leave it out, a GET of it is 404: a hard delete the API never
# announced), `stale` it is served with `changes` but its old updatedAt (an edit the
# incremental sync cannot see). They count as served only when a response held the record.
DATA_FAULT_KINDS = ("skip", "deleted", "stale")


@dataclass
class Fault:
    path_prefix: str
    kind: str
    times: int | None  # None: until cleared; counts down as the fault is served
    retry_after: float = 1.0
    delay: float = 0.5
    method: str | None = None
    served: int = 0  # responses this fault has shaped so far
    record: str | None = None  # a data fault's record id
    changes: dict[str, Any] | None = None  # a `stale` fault's edits, merged into the record

    def describe(self) -> str:
        about = f" (record {self.record})" if self.record is not None else ""
        return f"fault {self.kind!r}{about} on {self.method or 'any method'} {self.path_prefix}*"


class FaultNotServed(HubError, AssertionError):
    """A test planted a fault that the code under test never met: the test proved nothing.
    An AssertionError, so pytest reports it as the test's failure."""


class Faults:
    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._served: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add(
        self,
        path_prefix: str,
        kind: str,
        times: int | None = 1,
        retry_after: float = 1.0,
        delay: float = 0.5,
        method: str | None = None,
        record: str | None = None,
        changes: dict[str, Any] | None = None,
    ) -> Fault:
        """Switch a fault on with no proof that it fires (the admin route, tools); tests use
        `planted`."""
        _check(kind, record, changes)
        fault = Fault(path_prefix, kind, times, retry_after, delay, method, record=record, changes=changes)
        with self._lock:
            self._faults.append(fault)
        return fault

    def planted(
        self,
        path_prefix: str,
        kind: str,
        times: int | None = 1,
        retry_after: float = 1.0,
        delay: float = 0.5,
        method: str | None = None,
        *,
        at_least: int = 1,
        optional: bool = False,
        record: str | None = None,
        changes: dict[str, Any] | None = None,
    ) -> Planted:
        """A context manager: the fault is on inside the block and off after it. Leaving the
        block without an exception fails (FaultNotServed) unless the fault was served `times`
        times, or at least `at_least` times when `times` is None. `optional=True` skips that
        proof, for a fault that may legitimately not fire (say why next to it)."""
        _check(kind, record, changes)  # at the planting line, not later when the block opens
        caller = sys._getframe(1)
        where = f"{caller.f_code.co_filename}:{caller.f_lineno}"
        return Planted(
            self,
            dict(
                path_prefix=path_prefix,
                kind=kind,
                times=times,
                retry_after=retry_after,
                delay=delay,
                method=method,
                record=record,
                changes=changes,
            ),
            at_least=at_least,
            optional=optional,
            where=where,
        )

    def remove(self, fault: Fault) -> None:
        with self._lock:
            if fault in self._faults:
                self._faults.remove(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def served(self, kind: str) -> int:
        """How many responses this kind of fault has shaped so far."""
        return self._served[kind]

    def data_faults(self, method: str, path: str) -> list[Fault]:
        """The data faults on this request's path (not counted: `shaped` counts one that
        found its record in the response)."""
        with self._lock:
            return [
                f
                for f in self._faults
                if f.kind in DATA_FAULT_KINDS
                and path.startswith(f.path_prefix)
                and f.method in (None, method)
            ]

    def shaped(self, fault: Fault) -> None:
        """A data fault changed a response: count it, and switch it off once its times are spent."""
        with self._lock:
            if fault not in self._faults:
                return
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
            fault.served += 1
            self._served[fault.kind] += 1

    def take(self, method: str, path: str) -> Fault | None:
        """The fault for this request, if any; counts it down."""
        with self._lock:
            for fault in self._faults:
                if fault.kind in DATA_FAULT_KINDS:
                    continue  # shapes the body after the handler (data_faults)
                if path.startswith(fault.path_prefix) and fault.method in (None, method):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self._faults.remove(fault)
                    fault.served += 1
                    self._served[fault.kind] += 1
                    return fault
        return None


def _check(kind: str, record: str | None, changes: dict[str, Any] | None) -> None:
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(FAULT_KINDS)}")
    if kind in DATA_FAULT_KINDS and record is None:
        raise ValueError(f"fault {kind!r} is about one record: pass record=<its id>")
    if kind == "stale" and not changes:
        raise ValueError("fault 'stale' needs changes={...}: the edit served without a new updatedAt")


class Planted:
    """One planted fault: on while the `with` block runs, proven served when it ends."""

    def __init__(
        self, faults: Faults, spec: dict[str, object], *, at_least: int, optional: bool, where: str
    ) -> None:
        self._faults, self._spec, self._where = faults, spec, where
        self._at_least, self._optional = at_least, optional
        self._fault: Fault | None = None

    def __enter__(self) -> Fault:
        self._fault = self._faults.add(**self._spec)  # type: ignore[arg-type]
        return self._fault

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        fault = self._fault
        assert fault is not None, "Planted.__exit__ without __enter__"
        self._faults.remove(fault)  # a fault outlives its block in no later request
        if exc_type is not None or self._optional:
            return  # the block's own failure says more than an unserved fault would
        times = self._spec["times"]
        if times is not None and fault.served != times:
            raise FaultNotServed(
                f"{self._where}: {fault.describe()} was planted for {times} request(s) but "
                f"served {fault.served}: the code under test never sent the request(s) it was "
                "meant to break, so the test proved nothing. Check the path prefix and method "
                "against the requests made (Sandbox.hits), or pass optional=True with a comment "
                "saying why it may not fire."
            )
        if times is None and fault.served < self._at_least:
            raise FaultNotServed(
                f"{self._where}: {fault.describe()} (until the block ends) was served "
                f"{fault.served} time(s), expected at least {self._at_least}: the code under "
                "test never sent the request(s) it was meant to break. Check the path prefix and "
                "method against the requests made (Sandbox.hits), or pass optional=True with a "
                "comment saying why it may not fire."
            )
