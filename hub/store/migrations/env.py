"""Alembic's entry point: run the revisions on the connection hub/store/schema.py hands over."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from hub.store.schema import VERSION_TABLE, import_store_tables

import_store_tables()
connection = context.config.attributes["connection"]
# render_as_batch: SQLite cannot ALTER most things; batch mode copies the table instead.
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
