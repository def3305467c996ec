"""Identity stitching: one profile per person across every connected system.

The Python API is `stitch(records, config)`; see docs/identity.md.
"""

from hub.identity.config import IdentifierRule, IdentityConfig, MatchConfig, MatchField
from hub.identity.match import MatchLink, MatchModel
from hub.identity.stitching import StitchResult, stitch

__all__ = ["stitch", "StitchResult", "MatchLink", "MatchModel", "IdentityConfig", "IdentifierRule",
           "MatchConfig", "MatchField"]
