"""Faults a test can switch on per route: 429 with Retry-After, 5xx, slow, malformed, truncated,
and `lost` (the request is carried out, then answered with a 500, as when a response is lost)."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass

__all__ = ["Fault", "Faults", "FAULT_KINDS"]

FAULT_KINDS = ("429", "500", "502", "503", "slow", "malformed", "truncated", "lost")


@dataclass
class Fault:
    path_prefix: str
    kind: str
    times: int | None  # None: until cleared
    retry_after: float = 1.0
    delay: float = 0.5
    method: str | None = None


class Faults:
    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._served: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add(self, path_prefix: str, kind: str, times: int | None = 1, retry_after: float = 1.0,
            delay: float = 0.5, method: str | None = None) -> Fault:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(FAULT_KINDS)}")
        fault = Fault(path_prefix, kind, times, retry_after, delay, method)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def served(self, kind: str) -> int:
        """How many responses this kind of fault has shaped so far."""
        return self._served[kind]

    def take(self, method: str, path: str) -> Fault | None:
        """The fault for this request, if any; counts it down."""
        with self._lock:
            for fault in self._faults:
                if path.startswith(fault.path_prefix) and fault.method in (None, method):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self._faults.remove(fault)
                    self._served[fault.kind] += 1
                    return fault
        return None
