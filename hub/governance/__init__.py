"""The govern step: policies that decide, per destination and purpose, what may leave the hub.

`config.py` is crossdock.yaml's `governance:` block; `consent.py` answers "does this person's
consent cover purpose P"; the policies and the step that applies them live beside them.
"""

from hub.governance.config import GovernanceConfig, governance_problems
from hub.governance.consent import consent_allows, latest_consents

__all__ = ["GovernanceConfig", "governance_problems", "consent_allows", "latest_consents"]
