"""A per-account rate limit in the sandbox that counts and refuses calls over it.

    sb.limits.set("/crm/", calls=20, seconds=1.0)   # every HubSpot path, per token
    ...                                              # syncs, write-backs, in any process
    sb.limits.over("/crm/")                          # calls answered 429 for being over

The account is the request's credentials (its Authorization header), as at the vendor.
The window slides: at most `calls` arrivals in any `seconds`, as HubSpot counts.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field

__all__ = ["RateLimits"]


@dataclass
class _Limit:
    prefix: str
    calls: int
    seconds: float
    arrivals: dict[str, deque[float]] = field(default_factory=dict)
    served: int = 0
    over: int = 0


class RateLimits:
    def __init__(self) -> None:
        self._limits: list[_Limit] = []
        self._lock = threading.Lock()

    def set(self, prefix: str, calls: int, seconds: float) -> None:
        """Limit each account's calls to paths under `prefix` (replacing an earlier limit)."""
        with self._lock:
            self._limits = [lim for lim in self._limits if lim.prefix != prefix]
            self._limits.append(_Limit(prefix, calls, seconds))

    def clear(self) -> None:
        with self._lock:
            self._limits.clear()

    def admit(self, path: str, account: str) -> float | None:
        """None if the call is within every limit on `path` (it is counted), else the seconds
        until the account's window has room (the call is counted as over, and refused)."""
        now = time.monotonic()
        with self._lock:
            for lim in self._limits:
                if not path.startswith(lim.prefix):
                    continue
                window = lim.arrivals.setdefault(account, deque())
                while window and window[0] <= now - lim.seconds:
                    window.popleft()
                if len(window) >= lim.calls:
                    lim.over += 1
                    return window[0] + lim.seconds - now
            for lim in self._limits:
                if path.startswith(lim.prefix):
                    lim.arrivals[account].append(now)
                    lim.served += 1
        return None

    def over(self, prefix: str) -> int:
        """Calls refused for being over the limit under `prefix`."""
        with self._lock:
            return sum(lim.over for lim in self._limits if lim.prefix == prefix)

    def served(self, prefix: str) -> int:
        """Calls within the limit under `prefix`."""
        with self._lock:
            return sum(lim.served for lim in self._limits if lim.prefix == prefix)
