"""A connector package's program, faked by a script: the spec is asked once per installed
version (issue 19: a sync launched the program three times), and a program that prints more
than a pipe holds is read whole while the reader is slow (read ahead on its own thread)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from hub.sources.package import PackageSource

REQUIREMENT = "source-fake==1.0"

PROGRAM = """\
#!{python}
import json, sys
with open({log!r}, "a") as log:
    log.write(sys.argv[1] + "\\n")
if sys.argv[1] == "spec":
    print(json.dumps({{"type": "SPEC", "spec": {{"connectionSpecification": {{"type": "object"}}}}}}))
elif sys.argv[1] == "discover":
    stream = {{"name": "users", "json_schema": {{}}, "supported_sync_modes": ["full_refresh"]}}
    print(json.dumps({{"type": "CATALOG", "catalog": {{"streams": [stream]}}}}))
elif sys.argv[1] == "read":
    for i in range({records}):
        record = {{"stream": "users", "data": {{"id": i, "pad": "x" * 200}}, "emitted_at": 0}}
        print(json.dumps({{"type": "RECORD", "record": record}}))
    sys.stdout.flush()
    with open({log!r}, "a") as log:
        log.write("printed-all\\n")
"""


def installed(root: Path, records: int = 0) -> tuple[PackageSource, Path]:
    """A PackageSource whose `install` is already done: the marker and a script as its program."""
    venv, log = root / "source-fake", root / "launches.log"
    (venv / "bin").mkdir(parents=True)
    program = venv / "bin" / "source-fake"
    program.write_text(PROGRAM.format(python=sys.executable, log=str(log), records=records))
    program.chmod(0o755)
    marker = {"requirement": REQUIREMENT, "entry_point": "source-fake"}
    (venv / "crossdock-installed.json").write_text(json.dumps(marker))
    return PackageSource(REQUIREMENT, {}, root), log


def test_the_spec_is_asked_once_per_installed_version(tmp_path: Path) -> None:
    first, log = installed(tmp_path)
    assert first.spec() == {"type": "object"}
    again = PackageSource(REQUIREMENT, {}, tmp_path)  # the next run, a new instance
    assert again.spec() == {"type": "object"}
    assert log.read_text().split() == ["spec"]


def test_output_larger_than_a_pipe_is_read_whole_by_a_slow_reader(tmp_path: Path) -> None:
    source, log = installed(tmp_path, records=3000)  # ~750 KB: a pipe holds 64 KB
    ids = []
    for kind, payload in source.read("users", incremental=False, state=None):
        if kind == "record":
            ids.append(payload["id"])
            if len(ids) == 1:  # the pipeline busy with a batch: the program still prints it all
                deadline = time.monotonic() + 240  # a busy machine
                while "printed-all" not in log.read_text() and time.monotonic() < deadline:
                    time.sleep(0.05)
                assert "printed-all" in log.read_text(), "the program waited on a full pipe"
    assert ids == list(range(3000))
    assert log.read_text().split() == ["discover", "read", "printed-all"]
