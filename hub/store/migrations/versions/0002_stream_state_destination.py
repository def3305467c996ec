"""Stream state records which destination (table) its records went to.

A state is only good for that table (hub/pipeline/state_scope.py); existing rows get NULL,
which the first run that finds its table present adopts. A store made before Crossdock used
schema revisions may have the column already (the hub added it on open then): left alone.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30

"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("stream_state")}
    if "destination" not in columns:
        with op.batch_alter_table("stream_state") as batch:
            batch.add_column(sa.Column("destination", sqlmodel.sql.sqltypes.AutoString(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("stream_state") as batch:
        batch.drop_column("destination")
