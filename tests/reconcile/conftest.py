"""Fixtures for reconcile: a destination on each engine; a small sandbox and a workspace."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.destinations import SqlDestination, open_destination


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres), "duckdb"])
def dest(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlDestination]:
    if request.param == "sqlite":
        d = open_destination("sql", {"url": f"sqlite:///{tmp_path / 'wh.db'}"})
    elif request.param == "duckdb":
        d = open_destination("sql", {"url": f"duckdb:///{tmp_path / 'wh.duckdb'}"})
    else:
        url = "postgresql://postgres@127.0.0.1:5432/test"
        d = open_destination("sql", {"url": url, "schema": request.getfixturevalue("pg_schema")})
    yield d
    d.close()
