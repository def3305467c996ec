"""A connector package's catalog is kept beside the package (issue 19: each sync launched the
program for `discover`, then again for `read`, each launch importing the CDK anew): one
discover per package version and config, until it is too old, a read fails, a stream is
missing from it, or `crossdock discover` asks afresh."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from hub.errors import FatalError
from hub.sources.package import PackageSource

REQUIREMENT = "source-fake==1.0"

# The program logs each launch; its config says which streams it has and whether read fails.
PROGRAM = """\
#!{python}
import json, sys
args = dict(zip(sys.argv[2::2], sys.argv[3::2]))
config = json.load(open(args["--config"])) if "--config" in args else {{}}
with open({log!r}, "a") as log:
    log.write(sys.argv[1] + "\\n")
if sys.argv[1] == "discover":
    streams = [
        {{"name": name, "json_schema": {{}}, "supported_sync_modes": ["full_refresh"]}}
        for name in config.get("streams", ["users"])
    ]
    print(json.dumps({{"type": "CATALOG", "catalog": {{"streams": streams}}}}))
elif sys.argv[1] == "read":
    if config.get("fail"):
        error = {{"message": "the API said no", "failure_type": "system_error"}}
        print(json.dumps({{"type": "TRACE", "trace": {{"type": "ERROR", "error": error}}}}))
        sys.exit(1)
    stream = json.load(open(args["--catalog"]))["streams"][0]["stream"]["name"]
    record = {{"stream": stream, "data": {{"id": 1}}, "emitted_at": 0}}
    print(json.dumps({{"type": "RECORD", "record": record}}))
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """An installed package (its marker written) whose program is the script above."""
    venv = tmp_path / "source-fake"
    (venv / "bin").mkdir(parents=True)
    program = venv / "bin" / "source-fake"
    program.write_text(PROGRAM.format(python=sys.executable, log=str(tmp_path / "launches.log")))
    program.chmod(0o755)
    marker = {"requirement": REQUIREMENT, "entry_point": "source-fake"}
    (venv / "crossdock-installed.json").write_text(json.dumps(marker))
    return tmp_path


def launches(root: Path) -> list[str]:
    log = root / "launches.log"
    return log.read_text().split() if log.exists() else []


def read(root: Path, config: dict[str, Any], stream: str = "users") -> list[Any]:
    """One sync's worth: a new source (as each run builds), the stream read whole."""
    source = PackageSource(REQUIREMENT, config, root)
    return [
        payload for kind, payload in source.read(stream, incremental=False, state=None) if kind == "record"
    ]


def test_a_second_sync_reads_without_discovering(root: Path) -> None:
    assert read(root, {"count": 1}) == [{"id": 1}]
    assert read(root, {"count": 1}) == [{"id": 1}]
    assert launches(root) == ["discover", "read", "read"]
    kept = list((root / "source-fake" / "crossdock-catalogs").iterdir())
    assert len(kept) == 1 and "count" not in kept[0].name  # named by a hash, not the config


def test_another_config_has_its_own_catalog(root: Path) -> None:
    read(root, {"count": 1})
    read(root, {"count": 2})  # another account or other options may have other streams
    assert launches(root) == ["discover", "read", "discover", "read"]


def test_a_catalog_older_than_its_age_is_discovered_again(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    read(root, {})
    monkeypatch.setattr(PackageSource, "CATALOG_MAX_AGE", 0.0)
    read(root, {})
    assert launches(root) == ["discover", "read", "discover", "read"]


def test_another_installed_version_discovers_again(root: Path) -> None:
    read(root, {})
    marker = root / "source-fake" / "crossdock-installed.json"
    marker.write_text(json.dumps({"requirement": "source-fake==2.0", "entry_point": "source-fake"}))
    assert PackageSource(REQUIREMENT, {}, root)._kept_catalog() is None


def test_a_failed_read_forgets_the_kept_catalog(root: Path) -> None:
    read(root, {"fail": False})
    catalog_file = PackageSource(REQUIREMENT, {"fail": True}, root)._catalog_file()
    # The same catalog kept for the failing config (as if it had been read before it failed).
    catalog_file.write_text(next((root / "source-fake" / "crossdock-catalogs").iterdir()).read_text())
    with pytest.raises(FatalError, match="the API said no"):
        read(root, {"fail": True})
    assert not catalog_file.exists(), "the next run discovers again"
    assert launches(root) == ["discover", "read", "read"]


def test_a_stream_the_kept_catalog_lacks_is_discovered_again(root: Path) -> None:
    read(root, {"streams": ["users", "orders"]})
    kept_file = PackageSource(REQUIREMENT, {"streams": ["users", "orders"]}, root)._catalog_file()
    kept = json.loads(kept_file.read_text())
    kept["streams"] = [s for s in kept["streams"] if s["name"] == "users"]  # kept before `orders` existed
    kept_file.write_text(json.dumps(kept))
    assert read(root, {"streams": ["users", "orders"]}, "orders") == [{"id": 1}]
    assert launches(root) == ["discover", "read", "discover", "read"]


def test_forget_catalog_discovers_afresh_and_keeps_that(root: Path) -> None:
    read(root, {})
    source = PackageSource(REQUIREMENT, {}, root)
    source.forget_catalog()  # what `crossdock discover` does
    assert [s["name"] for s in source.discover()] == ["users"]
    read(root, {})
    assert launches(root) == ["discover", "read", "discover", "read"]
