"""The SQL engine registry: URL schemes pick the engine; drivers load only when one opens."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hub.destinations import SQL_ENGINES, Destination, open_destination
from hub.destinations.engines import engine_for
from hub.errors import ConfigError


def test_importing_destinations_loads_no_duckdb_or_pyarrow() -> None:
    probe = (
        "import sys, hub.destinations\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'duckdb', 'pyarrow'}))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("url", "engine"),
    [
        ("sqlite:///wh.db", "sqlite"),
        ("duckdb:///wh.duckdb", "duckdb"),
        ("postgresql://u@h/db", "postgresql"),
        ("postgresql+psycopg://u@h/db", "postgresql"),
        ("postgres://u@h/db", "postgresql"),
    ],
)
def test_the_url_scheme_picks_the_engine(url: str, engine: str) -> None:
    assert engine_for(url).name == engine


def test_every_engine_declares_a_column_type_for_every_field_type() -> None:
    field_types = {"string", "integer", "number", "boolean", "datetime", "json"}
    for engine in SQL_ENGINES:
        assert set(engine.types) == field_types, engine.name
        assert engine.url_form.split("://")[0] in engine.schemes, engine.name


def test_an_unknown_scheme_names_every_registered_one() -> None:
    with pytest.raises(ConfigError) as caught:
        open_destination("sql", {"url": "mysql://x"})
    for engine in SQL_ENGINES:
        for scheme in engine.schemes:
            assert scheme in str(caught.value)


@pytest.mark.parametrize("url", ["sqlite://wh.db", "duckdb://wh.duckdb", "sqlite:wh.db"])
def test_a_file_engine_wants_three_slashes(url: str) -> None:
    with pytest.raises(ConfigError, match=r"unsupported destination url `(sqlite|duckdb):...`"):
        open_destination("sql", {"url": url})


def test_a_table_reports_nothing_and_ignores_held_deletes(tmp_path: Path) -> None:
    dest: Destination = open_destination("sql", {"url": f"sqlite:///{tmp_path / 'wh.db'}"})
    try:
        dest.hold_deletes("1 row(s) were dead-lettered")
        assert dest.report() is None
    finally:
        dest.close()
