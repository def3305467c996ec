"""Identity stitching: one profile per person across every connected system.

The Python API is `stitch(records, config)`; see docs/identity.md.

The matcher needs DuckDB, NumPy and SciPy; they load on first use of the engine, so the
workspace model (which embeds `IdentityConfig`) and the store stay light to import.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from hub.identity.config import IdentifierRule, IdentityConfig, MatchConfig, MatchField

if TYPE_CHECKING:
    from hub.identity.match import MatchLink, MatchModel
    from hub.identity.stitching import StitchResult, stitch

__all__ = [
    "stitch",
    "StitchResult",
    "MatchLink",
    "MatchModel",
    "IdentityConfig",
    "IdentifierRule",
    "MatchConfig",
    "MatchField",
]

_ENGINE = {
    "stitch": "hub.identity.stitching",
    "StitchResult": "hub.identity.stitching",
    "MatchLink": "hub.identity.match",
    "MatchModel": "hub.identity.match",
}


def __getattr__(name: str) -> Any:
    if name in _ENGINE:
        return getattr(importlib.import_module(_ENGINE[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
