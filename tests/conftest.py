"""Fixtures shared by the whole suite: PostgreSQL schemas, sandbox, workspaces."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest_plugins = ["airbyte_cdk.test.standard_tests.pytest_hooks"]

# The end-to-end tier (`-m e2e`): these folders run the whole pipeline (live sandbox, CLI, flows),
# and so does any test on a real Prefect server. `-m "not e2e"` is the fast unit tier
# (docs/testing.md); a plain `pytest` runs both.
E2E_DIRS = ("pipeline", "flows")


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    tests = Path(__file__).parent
    for item in items:
        on_prefect = "prefect_server" in getattr(item, "fixturenames", ())
        if on_prefect:
            item.add_marker(pytest.mark.prefect)
        if on_prefect or item.path.relative_to(tests).parts[0] in E2E_DIRS:
            item.add_marker(pytest.mark.e2e)


PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
PG_HOWTO = (
    "PostgreSQL is not reachable at 127.0.0.1:5432; start it with "
    "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`"
)


def _pg_connect():  # type: ignore[no-untyped-def]
    import psycopg

    try:
        return psycopg.connect(PG_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(f"{PG_HOWTO} ({exc})")


@pytest.fixture
def pg_schema() -> Iterator[str]:
    """A fresh schema in database `test`, dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with _pg_connect() as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
    try:
        yield name
    finally:
        from hub.store.engine import forget_engines

        # A test's store engine keeps its pooled connections open: over the suite they would
        # exhaust the server's max_connections.
        forget_engines(name)
        with _pg_connect() as conn:
            conn.execute(f'DROP SCHEMA "{name}" CASCADE')


@pytest.fixture
def pg_schema_url(pg_schema: str) -> str:
    """A URL whose connections use the fresh schema (for code that takes no schema option)."""
    return f"{PG_URL}?options=-csearch_path%3D{pg_schema}"


@pytest.fixture(autouse=True)
def _console_handlers_follow_stderr() -> Iterator[None]:
    """Prefect binds its console handlers to the sys.stderr of the moment it sets up logging;
    under CliRunner that is a buffer closed after the command. A real CLI process runs one
    command, so only the tests need the handlers pointed back at the process's stderr."""
    import logging
    import sys

    yield
    loggers = [logging.getLogger(), *(logging.getLogger(name) for name in logging.root.manager.loggerDict)]
    for handler in {h for lg in loggers for h in getattr(lg, "handlers", ())}:
        if isinstance(handler, logging.StreamHandler) and getattr(handler.stream, "closed", False):
            handler.stream = sys.__stderr__  # not setStream: it flushes the closed one
            if hasattr(handler, "console"):  # Prefect's handler prints through a rich Console
                handler.console.file = sys.__stderr__
