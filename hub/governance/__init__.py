"""Governance: what may leave the hub, how long it stays, and forgetting a person.

This branch holds retention (`retention.py`) and erasure (`erasure.py`, with the
salted-hash tombstones in `tombstones.py`); `config.py` is the `governance:` block of
crossdock.yaml.
"""

from hub.governance.config import ErasureConfig, ErasureSystem, GovernanceConfig
from hub.governance.retention import RetentionConfig, RetentionRule

__all__ = ["GovernanceConfig", "RetentionConfig", "RetentionRule", "ErasureConfig", "ErasureSystem"]
