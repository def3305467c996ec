"""What an API account may spend: rate windows, a daily quota, a leaky bucket, a
concurrency cap, and usage headers that pause it. Policies are data: each connector
declares its vendor's documented limits in `connectors/<name>/api.yaml`, and
crossdock.yaml's `api_budgets:` overrides them per account (docs/api-governance.md).
"""

from __future__ import annotations

import fnmatch

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Window", "Bucket", "Budget", "path_matches"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def path_matches(path: str, patterns: list[str]) -> bool:
    """`*` matches within one path segment, so `/crm/v3/objects/*/search` is one object type."""
    return any(fnmatch.fnmatchcase(path, p) and path.count("/") == p.count("/") for p in patterns)


class Window(_Strict):
    """At most `calls` requests in any `seconds` (a sliding window, counted across processes).

    `paths` limits it to some endpoints (HubSpot's search API has its own 5 per second)."""

    calls: int = Field(ge=1, description="requests allowed in any window")
    seconds: float = Field(gt=0, le=86_400, description="the window's length")
    paths: list[str] = Field(default_factory=list, description="only calls to these paths (globs)")

    def applies_to(self, path: str) -> bool:
        return not self.paths or path_matches(path, self.paths)


class Bucket(_Strict):
    """A leaky bucket (Shopify REST): `size` calls at once, refilled at `leak_per_second`.
    When `header` is set, the API's own count (`32/40`) is read back from each response."""

    size: int = Field(ge=1)
    leak_per_second: float = Field(gt=0)
    header: str | None = None


class Budget(_Strict):
    windows: list[Window] = Field(default_factory=list)
    daily: int | None = Field(default=None, ge=1, description="calls per UTC day (a quota)")
    bucket: Bucket | None = None
    concurrent: int | None = Field(default=None, ge=1, description="calls in flight at once")
    # Headers whose JSON holds usage percentages (Facebook's X-App-Usage); at or above
    # `usage_pause_at` percent every process of the account pauses `usage_pause_seconds`.
    usage_headers: list[str] = Field(default_factory=list)
    usage_pause_at: float = Field(default=90.0, gt=0, le=100)
    usage_pause_seconds: float = Field(default=60.0, ge=0)
    # Headroom: each window is kept over `seconds * (1 + margin)`, so a request that reaches
    # the API a little later than it was granted (a busy machine, a slow network) still
    # lands inside the vendor's window. 0 spends the documented rate exactly.
    margin: float = Field(default=0.1, ge=0, le=1)

    @property
    def unlimited(self) -> bool:
        return not (self.windows or self.daily or self.bucket or self.concurrent or self.usage_headers)

    def merged(self, override: Budget) -> Budget:
        """This budget with the fields `override` sets replaced."""
        return self.model_copy(update={k: getattr(override, k) for k in override.model_fields_set})
