"""Each public package's surface is its `__all__`, and that surface is pinned: a change to
it shows up here as a deliberate edit of tests/snapshots/public_api.json.

Regenerate after an intended change: `python -m tests.test_exported_members`.
"""

from __future__ import annotations

import importlib
import json
import types
from pathlib import Path

import pytest

PACKAGES = [
    "flows",
    "hub.apigov",
    "hub.audit",
    "hub.cli",
    "hub.destinations",
    "hub.governance",
    "hub.identity",
    "hub.mapping",
    "hub.monitoring",
    "hub.pipeline",
    "hub.readapi",
    "hub.report",
    "hub.reconcile",
    "hub.sandbox",
    "hub.secrets",
    "hub.sources",
    "hub.store",
    "hub.workspace",
    "hub.writeback",
]
SNAPSHOT = Path(__file__).parent / "snapshots" / "public_api.json"


def _exported(package: str) -> list[str]:
    return sorted(getattr(importlib.import_module(package), "__all__", []))


@pytest.mark.parametrize("package", PACKAGES)
def test_all_names_resolve_and_nothing_public_is_unlisted(package: str) -> None:
    module = importlib.import_module(package)
    exported = set(getattr(module, "__all__", []))
    for name in exported:
        assert getattr(module, name, None) is not None, f"{package}.__all__ names missing `{name}`"
    # Classes and functions of the package's own modules that it lets callers reach;
    # helpers it imports from elsewhere (typing, hub.errors) are not its surface.
    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and str(getattr(value, "__module__", "")).startswith(package + ".")
    }
    assert public <= exported, f"{package} exposes names not in __all__: {public - exported}"


def test_public_surface_is_pinned() -> None:
    pinned = json.loads(SNAPSHOT.read_text())
    current = {package: _exported(package) for package in PACKAGES}
    assert current == pinned, (
        "a package's __all__ changed; if intended, run "
        "`python -m tests.test_exported_members` and commit the snapshot"
    )


if __name__ == "__main__":
    SNAPSHOT.write_text(json.dumps({p: _exported(p) for p in PACKAGES}, indent=1) + "\n")
