"""The store's schema version (Alembic, hub/store/migrations/): a new store is made at the
newest revision; an older one is refused until `crossdock upgrade` migrates it in place.

A store records its revision in the table `crossdock_schema_version` (not Alembic's default
`alembic_version`: Prefect's database has one of its own, and a store sharing a schema with it
must not read Prefect's revision as ours). A store made before the hub used Alembic has the
hub's tables and no version table: `upgrade` adopts it by running every revision from the
start; the revisions such a store can predate (every one so far) create only what it is missing.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import exc as sa_exc
from sqlalchemy import inspect
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

from hub.errors import ConfigError
from hub.store.engine import describe_store

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

__all__ = [
    "SchemaStatus",
    "StoreUpgradeNeededError",
    "create_db_and_tables",
    "import_store_tables",
    "schema_status",
    "upgrade_store",
    "VERSION_TABLE",
]

VERSION_TABLE = "crossdock_schema_version"
_MIGRATIONS = Path(__file__).parent / "migrations"

# Every module that registers store tables with SQLModel's metadata when imported (the
# features each keep their tables beside their code). The head revision describes all of them.
STORE_TABLE_MODULES = (
    "hub.store.models",
    "hub.audit.models",
    "hub.secrets.store",
    "hub.writeback.state",
    "hub.identity.state",
    "hub.governance.tombstones",
    "hub.readapi.keys",
    "hub.readapi.limits",  # the read API's shared rate buckets
    "hub.monitoring.series",
    "hub.governance.decisions",
    "hub.apigov.models",  # the API ledger
    "hub.reconcile.store",
)


class StoreUpgradeNeededError(ConfigError):
    """The store was made by an older Crossdock: `crossdock upgrade` migrates it."""


def import_store_tables() -> None:
    for module in STORE_TABLE_MODULES:
        importlib.import_module(module)


@dataclass(frozen=True)
class SchemaStatus:
    current: str | None  # the store's revision; None: not versioned (new, or made before Alembic)
    head: str  # the newest revision this Crossdock knows
    has_tables: bool  # the database holds any of the store's tables
    known: bool  # `current` is one of this Crossdock's revisions

    @property
    def new(self) -> bool:
        return self.current is None and not self.has_tables

    @property
    def needs_upgrade(self) -> bool:
        return not self.new and self.known and self.current != self.head

    @property
    def shown(self) -> str:
        return self.current or "unversioned (made before Crossdock used schema revisions)"


def schema_status(engine: Engine) -> SchemaStatus:
    import_store_tables()  # a database holding any of them is a store, not a new one
    with engine.connect() as conn:
        return _status(conn)


def create_db_and_tables(engine: Engine) -> None:
    """Open the store for use: a new one is created at the newest revision (all tables made at
    once, then stamped: far faster than running every revision); one at that revision is used
    as it is; an older one is refused with StoreUpgradeNeededError (`crossdock upgrade`)."""
    status = schema_status(engine)
    if status.new:
        try:
            with engine.begin() as conn:
                _create_at_head(conn)
        except (sa_exc.IntegrityError, sa_exc.OperationalError, sa_exc.ProgrammingError):
            # Another process created the new store at the same moment: fine if it got to head.
            status = schema_status(engine)
            if status.current != status.head:
                raise
        return
    _refuse_unless_current(status, engine)


def upgrade_store(engine: Engine, revision: str = "head") -> tuple[SchemaStatus, SchemaStatus]:
    """Run the store's pending revisions up to `revision` (all or nothing on PostgreSQL); the
    status before and after. A new store is created at head at once; a store from a newer
    Crossdock is refused. (An older `revision` builds an old store: the upgrade tests do.)"""
    from alembic import command

    before = schema_status(engine)
    if before.new and revision == "head":
        create_db_and_tables(engine)
    elif not before.known:
        _refuse_unless_current(before, engine)
    elif before.current != (before.head if revision == "head" else revision):
        with engine.begin() as conn:
            config = _config()
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
    return before, schema_status(engine)


def _status(conn: Connection) -> SchemaStatus:
    from alembic.migration import MigrationContext

    current = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision()
    script = _script()
    known = current is None or _is_revision(script, current)
    has_tables = current is not None or bool(
        set(inspect(conn).get_table_names()) & set(SQLModel.metadata.tables)
    )
    return SchemaStatus(current, _head(), has_tables, known)


def _refuse_unless_current(status: SchemaStatus, engine: Engine) -> None:
    where = describe_store(engine.url.render_as_string(hide_password=False))
    if not status.known:
        raise ConfigError(
            f"the hub store {where} is at schema revision {status.current}, which this Crossdock does "
            f"not know (its newest is {status.head}): a newer Crossdock upgraded it; run that version "
            "(or restore the store's backup from before that upgrade)"
        )
    if status.needs_upgrade:
        raise StoreUpgradeNeededError(
            f"the hub store {where} is at schema revision {status.shown}, this Crossdock needs "
            f"{status.head}: back the store up, then run `crossdock upgrade` (docs/operations.md)"
        )


def _create_at_head(conn: Connection) -> None:
    from alembic.migration import MigrationContext

    SQLModel.metadata.create_all(conn)
    MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).stamp(_script(), "head")


def _config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


@cache
def _script() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config())


@cache
def _head() -> str:
    head = _script().get_current_head()
    assert head is not None, "hub/store/migrations/versions holds no revision"
    return head


def _is_revision(script: ScriptDirectory, revision: str) -> bool:
    from alembic.util import CommandError

    try:
        return script.get_revision(revision) is not None
    except CommandError:
        return False
