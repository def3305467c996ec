"""The destination every test here runs on: SQLite, PostgreSQL (its own schema) and DuckDB."""

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
        d = open_destination(
            "sql",
            {
                "url": "postgresql://postgres@127.0.0.1:5432/test",
                "schema": request.getfixturevalue("pg_schema"),
            },
        )
    yield d
    d.close()
