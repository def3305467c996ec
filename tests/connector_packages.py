"""The connector packages the tests run, installed once: `python -m tests.connector_packages DIR`.

`.ci/run` installs them before the suite (with the installer's own time budget) and points
CROSSDOCK_TEST_CONNECTORS_DIR at them; without it, the first test that needs one installs
it into the session's temporary directory.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

FAKER = "airbyte-source-faker==7.2.1"
PACKAGES = (FAKER,)
PREINSTALLED = "CROSSDOCK_TEST_CONNECTORS_DIR"


def install(root: Path) -> Path:
    from hub.sources.package import PackageSource

    for requirement in PACKAGES:
        PackageSource(requirement, {}, root).spec()  # installs on first use
    return root


def preinstalled() -> Path | None:
    where = os.environ.get(PREINSTALLED)
    return Path(where) if where else None


if __name__ == "__main__":
    print(f"connector packages for the tests in {install(Path(sys.argv[1]).resolve())}")
