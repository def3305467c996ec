"""The SQL engine registry: every engine a `sql` destination URL can name.

Adding an engine: one module declaring `ENGINE = SqlEngine(...)` (see
hub/destinations/sql_engine.py) and one line in SQL_ENGINES below.
"""

from __future__ import annotations

from hub.destinations import sql_duckdb, sql_postgres, sql_sqlite
from hub.destinations.sql_engine import SqlEngine
from hub.errors import ConfigError

__all__ = ["SQL_ENGINES", "engine_for", "url_forms"]

SQL_ENGINES: tuple[SqlEngine, ...] = (
    sql_sqlite.ENGINE,
    sql_postgres.ENGINE,
    sql_duckdb.ENGINE,
)


def _by_scheme() -> dict[str, SqlEngine]:
    by_scheme: dict[str, SqlEngine] = {}
    for engine in SQL_ENGINES:
        for scheme in engine.schemes:
            if scheme in by_scheme:  # a registry mistake; refuse it on import, not at a run
                raise ValueError(
                    f"URL scheme `{scheme}` is claimed by both {by_scheme[scheme].name} and {engine.name}"
                )
            by_scheme[scheme] = engine
    return by_scheme


_BY_SCHEME = _by_scheme()


def url_forms() -> str:
    """Example URLs of every engine: `sqlite:///path.db, ... or duckdb:///path.duckdb`."""
    forms = [e.url_form for e in SQL_ENGINES]
    return forms[0] if len(forms) == 1 else f"{', '.join(forms[:-1])} or {forms[-1]}"


def engine_for(url: str) -> SqlEngine:
    """The engine whose scheme the URL names; ConfigError listing the registered ones if none."""
    scheme, sep, _ = url.partition("://")
    engine = _BY_SCHEME.get(scheme) if sep else None
    if engine is None:
        raise ConfigError(
            f"unsupported destination url `{url.split(':', 1)[0]}:...`; use "
            f"{url_forms()} (registered schemes: {', '.join(_BY_SCHEME)})"
        )
    return engine
