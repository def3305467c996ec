"""crossdock.yaml `governance:` (this branch: `retention:` and `erasure:` only)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from hub.governance.retention import RetentionConfig

__all__ = ["GovernanceConfig", "ErasureConfig", "ErasureSystem"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ErasureSystem(_Strict):
    """A SaaS system the hub reads people from, asked to delete them by `crossdock erase`
    through a write-back connector's deletion call (connectors/<type>/writeback.py)."""

    type: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="a write-back connector")
    config: dict[str, Any] = Field(default_factory=dict)


class ErasureConfig(_Strict):
    """`governance.erasure:`: the systems to ask besides every write-back connection."""

    systems: dict[str, ErasureSystem] = Field(default_factory=dict)


class GovernanceConfig(_Strict):
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    erasure: ErasureConfig = Field(default_factory=ErasureConfig)
