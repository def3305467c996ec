"""Governance: what may leave the hub, how long it stays, and forgetting a person.

`config.py` is crossdock.yaml's `governance:` block; `consent.py` answers "does this person's
consent cover purpose P"; the policies and the govern step that applies them live beside
them. Retention (`retention.py`) and erasure (`erasure.py`, with the salted-hash tombstones
in `tombstones.py`) delete what outlived its time and whoever asked to be forgotten.
"""

from hub.governance.config import ErasureConfig, ErasureSystem, GovernanceConfig, governance_problems
from hub.governance.consent import consent_allows, latest_consents
from hub.governance.retention import RetentionConfig, RetentionRule

__all__ = [
    "GovernanceConfig",
    "governance_problems",
    "consent_allows",
    "latest_consents",
    "RetentionConfig",
    "RetentionRule",
    "ErasureConfig",
    "ErasureSystem",
]
