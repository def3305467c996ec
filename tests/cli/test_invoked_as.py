"""Hints name the command as it was run: `.venv/bin/crossdock` when that is how (issue 19)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from hub.cli.common import invoked_as


def _program(folder: Path) -> Path:
    program = folder / "crossdock"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    return program


def test_a_crossdock_off_the_path_is_named_as_it_was_typed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _program(tmp_path)
    monkeypatch.chdir(tmp_path.parent)
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(sys, "argv", [f"{tmp_path.name}/crossdock", "demo"])
    assert invoked_as() == f"{tmp_path.name}/crossdock"


def test_the_crossdock_on_the_path_is_just_crossdock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    program = _program(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(sys, "argv", [str(program), "demo"])
    assert invoked_as() == "crossdock"


def test_python_dash_m_is_crossdock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["/x/hub/cli/__main__.py", "demo"])
    assert invoked_as() == "crossdock"
