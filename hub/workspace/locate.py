"""Where connectors and mappings live: the workspace first, then the ones Crossdock ships."""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "BUILTIN_ROOT",
    "connector_dir",
    "mapping_file",
    "known_connectors",
    "manifest_path",
    "writeback_file",
    "writeback_connectors",
]

# The repository (or installed package) root that holds connectors/ and mappings/.
BUILTIN_ROOT = Path(__file__).resolve().parents[2]


def _roots(workspace_root: Path) -> list[Path]:
    roots = [workspace_root.resolve()]
    if BUILTIN_ROOT not in roots:
        roots.append(BUILTIN_ROOT)
    return roots


def connector_dir(workspace_root: Path, name: str) -> Path | None:
    for root in _roots(workspace_root):
        candidate = root / "connectors" / name
        if (candidate / "manifest.yaml").is_file():
            return candidate
    return None


def known_connectors(workspace_root: Path) -> list[str]:
    names = {
        p.parent.name
        for root in _roots(workspace_root)
        for p in (root / "connectors").glob("*/manifest.yaml")
    }
    return sorted(names)


def writeback_file(workspace_root: Path, name: str) -> Path | None:
    """A write-back connector: `connectors/<name>/writeback.py`, beside its source."""
    for root in _roots(workspace_root):
        candidate = root / "connectors" / name / "writeback.py"
        if candidate.is_file():
            return candidate
    return None


def writeback_connectors(workspace_root: Path) -> list[str]:
    return sorted(
        {
            p.parent.name
            for root in _roots(workspace_root)
            for p in (root / "connectors").glob("*/writeback.py")
        }
    )


def mapping_file(workspace_root: Path, ref: str) -> Path | None:
    for root in _roots(workspace_root):
        candidate = root / "mappings" / f"{ref}.yaml"
        if candidate.is_file():
            return candidate
    return None


def manifest_path(workspace_root: Path, given: str) -> Path:
    """A manifest path from crossdock.yaml: relative to the workspace folder; ~ expanded."""
    path = Path(given).expanduser()
    return path if path.is_absolute() else (workspace_root / path).resolve()
