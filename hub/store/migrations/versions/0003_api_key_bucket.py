"""The read API's per-key token buckets, shared by every `crossdock serve-api` process
(hub/readapi/limits.py). A store made before Crossdock used schema revisions has no such
table; the revision creates it only where it is missing.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30

"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if "api_key_bucket" not in sa.inspect(op.get_bind()).get_table_names():
        op.create_table(
            "api_key_bucket",
            sa.Column("key_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("tokens", sa.Float(), nullable=False),
            sa.Column("at", sa.Float(), nullable=False),
            sa.PrimaryKeyConstraint("key_id"),
        )


def downgrade() -> None:
    op.drop_table("api_key_bucket")
