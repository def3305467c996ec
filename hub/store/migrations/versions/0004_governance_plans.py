"""The govern step's plan per run and stream (hub/governance/decisions.py `GovernancePlan`):
the policy's hash and each PII field's action and rule, stored once per run and stream so that
`crossdock explain-decision` can tell what was done to one record's PII without a row per
record. A store made before Crossdock used schema revisions has no such table; the revision
creates it only where it is missing.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if "governance_plans" in sa.inspect(op.get_bind()).get_table_names():
        return
    op.create_table(
        "governance_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("connection", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("stream", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("entity", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("purpose", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("region", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("policy_hash", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("key_fields", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("pii_rules", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("destination_table", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_governance_plans_run_id"), "governance_plans", ["run_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_governance_plans_run_id"), table_name="governance_plans")
    op.drop_table("governance_plans")
