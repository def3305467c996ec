"""The source contract lives apart from the CDK: sources that never run the CDK do not load it."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pytest

from hub.sources import CheckResult


def _modules_after(code: str, prefix: str) -> list[str]:
    """Modules named `prefix...` loaded by running `code` in a fresh interpreter."""
    probe = (
        f"{code}\nimport json, sys\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == {prefix!r})))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    loaded: list[str] = json.loads(out.stdout)
    return loaded


def test_package_and_warehouse_sources_do_not_import_the_cdk() -> None:
    assert _modules_after("import hub.sources.package, hub.sources.warehouse", "airbyte_cdk") == []


def test_the_contract_names_import_from_hub_sources_without_the_cdk() -> None:
    code = "from hub.sources import LOG, RECORD, STATE, CheckResult, PackageSource, Source, SourceEvent"
    assert _modules_after(code, "airbyte_cdk") == []


def test_declarative_source_is_still_importable_from_hub_sources() -> None:
    from hub.sources import DeclarativeSource, dump_state
    from hub.sources.declarative import DeclarativeSource as Declarative

    assert DeclarativeSource is Declarative and callable(dump_state)
    with pytest.raises(ImportError, match="cannot import name 'Nope'"):
        from hub.sources import Nope  # noqa: F401


def test_check_result_is_a_frozen_value() -> None:
    result = CheckResult(False, "401 Unauthorized")
    assert (result.ok, result.message) == (False, "401 Unauthorized")
    assert result == CheckResult(False, "401 Unauthorized")
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.ok = True  # type: ignore[misc]
