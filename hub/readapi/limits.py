"""Per-key request rate: a token bucket per key, in the server process.

A key may burst up to one second's worth of requests, then gets its rate; a request beyond it
is refused with 429 and how many seconds until the next one is allowed (Retry-After). Buckets
live in the serving process: two servers behind a balancer each allow the key's rate.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

__all__ = ["RateLimiter"]


class RateLimiter:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key id -> (tokens, at)

    def take(self, key_id: str, rate: float) -> int:
        """0 if the request may go; else the whole seconds to wait before retrying."""
        now, burst = self._clock(), max(1.0, rate)
        tokens, at = self._buckets.get(key_id, (burst, now))
        tokens = min(burst, tokens + (now - at) * rate)
        if tokens >= 1.0:
            self._buckets[key_id] = (tokens - 1.0, now)
            return 0
        self._buckets[key_id] = (tokens, now)
        return max(1, math.ceil((1.0 - tokens) / rate))
