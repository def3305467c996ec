"""Baseline: the store as it was before stream state recorded its destination.

Every table of the store (docs/operations.md "Upgrade"), each created only when missing: a
store made before Crossdock used schema revisions is adopted by running this revision on it
(the tables of features added since it was made are created, the others are left alone).

Revision ID: 0001
Revises:
Create Date: 2026-11-30

"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "api_account_state",
        sa.Column("account", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("paused_until", sa.Float(), nullable=False),
        sa.Column("bucket_level", sa.Float(), nullable=False),
        sa.Column("bucket_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("account"),
        if_not_exists=True,
    )
    op.create_table(
        "api_call",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("win", sa.Integer(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_index(
        "ix_api_call_account_win_at", "api_call", ["account", "win", "at"], unique=False, if_not_exists=True
    )

    op.create_table(
        "api_keys",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("secret_hash", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("scope", sa.JSON(), nullable=False),
        sa.Column("rate_per_second", sa.Float(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("revoked_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
        if_not_exists=True,
    )
    op.create_table(
        "api_refusal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("run_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("stream", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("connection", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("account", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("rule", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("method", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("host", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("path", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("audited", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_table(
        "api_run_usage",
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("waits", sa.Integer(), nullable=False),
        sa.Column("wait_seconds", sa.Float(), nullable=False),
        sa.Column("throttled", sa.Integer(), nullable=False),
        sa.Column("refused", sa.Integer(), nullable=False),
        sa.Column("quota_stops", sa.Integer(), nullable=False),
        sa.Column("run_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("stream", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("account", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("resume_at", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.PrimaryKeyConstraint("run_id", "stream", "account"),
        if_not_exists=True,
    )
    op.create_table(
        "api_usage",
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("waits", sa.Integer(), nullable=False),
        sa.Column("wait_seconds", sa.Float(), nullable=False),
        sa.Column("throttled", sa.Integer(), nullable=False),
        sa.Column("refused", sa.Integer(), nullable=False),
        sa.Column("quota_stops", sa.Integer(), nullable=False),
        sa.Column("account", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("day", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("daily_limit", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("account", "day"),
        if_not_exists=True,
    )
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("target", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("key_version", sa.Integer(), nullable=False),
        sa.Column("entry_hash", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_audit_events_action"), "audit_events", ["action"], unique=False, if_not_exists=True
    )
    op.create_index(op.f("ix_audit_events_at"), "audit_events", ["at"], unique=False, if_not_exists=True)
    op.create_index(op.f("ix_audit_events_seq"), "audit_events", ["seq"], unique=True, if_not_exists=True)
    op.create_index(
        op.f("ix_audit_events_target"), "audit_events", ["target"], unique=False, if_not_exists=True
    )

    op.create_table(
        "connections",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("source_connector", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("destination_type", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("config_hash", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("mapping_versions", sa.JSON(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
        if_not_exists=True,
    )
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("connection", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("stream", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_dead_letters_connection"), "dead_letters", ["connection"], unique=False, if_not_exists=True
    )
    op.create_index(
        op.f("ix_dead_letters_run_id"), "dead_letters", ["run_id"], unique=False, if_not_exists=True
    )

    op.create_table(
        "erasure_tombstones",
        sa.Column("digest", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("request_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("digest"),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_erasure_tombstones_request_id"),
        "erasure_tombstones",
        ["request_id"],
        unique=False,
        if_not_exists=True,
    )

    op.create_table(
        "governance_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("connection", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("stream", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("record_key", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("profile_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("rule", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_governance_decisions_profile_id"),
        "governance_decisions",
        ["profile_id"],
        unique=False,
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_governance_decisions_record_key"),
        "governance_decisions",
        ["record_key"],
        unique=False,
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_governance_decisions_run_id"),
        "governance_decisions",
        ["run_id"],
        unique=False,
        if_not_exists=True,
    )

    op.create_table(
        "governance_policy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("policy_hash", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_table(
        "identity_assignments",
        sa.Column("record_key", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("profile_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("fingerprint", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("record_key"),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_identity_assignments_profile_id"),
        "identity_assignments",
        ["profile_id"],
        unique=False,
        if_not_exists=True,
    )

    op.create_table(
        "identity_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_a", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("record_b", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("decision", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_identity_decisions_record_a"),
        "identity_decisions",
        ["record_a"],
        unique=False,
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_identity_decisions_record_b"),
        "identity_decisions",
        ["record_b"],
        unique=False,
        if_not_exists=True,
    )

    op.create_table(
        "identity_links",
        sa.Column("record_a", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("record_b", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("levels", sa.JSON(), nullable=False),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.PrimaryKeyConstraint("record_a", "record_b"),
        if_not_exists=True,
    )
    op.create_table(
        "identity_model",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("trained_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("config_hash", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_table(
        "identity_redirects",
        sa.Column("old_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("profile_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("run_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("old_id"),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_identity_redirects_profile_id"),
        "identity_redirects",
        ["profile_id"],
        unique=False,
        if_not_exists=True,
    )

    op.create_table(
        "identity_refusals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_a", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("record_b", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("via", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_identity_refusals_record_a"),
        "identity_refusals",
        ["record_a"],
        unique=False,
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_identity_refusals_record_b"),
        "identity_refusals",
        ["record_b"],
        unique=False,
        if_not_exists=True,
    )

    op.create_table(
        "identity_runs",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("mode", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("ended_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_table(
        "identity_splits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("split_id", sa.Integer(), nullable=False),
        sa.Column("record_key", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("side", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("profile_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_identity_splits_record_key"),
        "identity_splits",
        ["record_key"],
        unique=False,
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_identity_splits_split_id"), "identity_splits", ["split_id"], unique=False, if_not_exists=True
    )

    op.create_table(
        "reconcile_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("check_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("connection", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("stream", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("table_name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("source_count", sa.Integer(), nullable=False),
        sa.Column("warehouse_count", sa.Integer(), nullable=False),
        sa.Column("missing", sa.Integer(), nullable=False),
        sa.Column("extra", sa.Integer(), nullable=False),
        sa.Column("stale", sa.Integer(), nullable=False),
        sa.Column("equal", sa.Integer(), nullable=False),
        sa.Column("pending", sa.Integer(), nullable=False),
        sa.Column("samples", sa.JSON(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("phase", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("checked_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_reconcile_reports_check_id"),
        "reconcile_reports",
        ["check_id"],
        unique=False,
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_reconcile_reports_connection"),
        "reconcile_reports",
        ["connection"],
        unique=False,
        if_not_exists=True,
    )

    op.create_table(
        "run_leases",
        sa.Column("connection", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("run_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("host", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("since", sa.Float(), nullable=False),
        sa.Column("heartbeat", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("connection"),
        if_not_exists=True,
    )
    op.create_table(
        "secrets",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("ciphertext", sa.Text(), nullable=False),
        sa.Column("key_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
        if_not_exists=True,
    )
    op.create_table(
        "stream_metrics",
        sa.Column("run_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("stream", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("connection", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("full_refresh", sa.Boolean(), nullable=False),
        sa.Column("writes_back", sa.Boolean(), nullable=False),
        sa.Column("read", sa.Integer(), nullable=False),
        sa.Column("written", sa.Integer(), nullable=False),
        sa.Column("dead_lettered", sa.Integer(), nullable=False),
        sa.Column("filtered", sa.Integer(), nullable=False),
        sa.Column("policy_filtered", sa.Integer(), nullable=False),
        sa.Column("writeback_sent", sa.Integer(), nullable=False),
        sa.Column("writeback_accepted", sa.Integer(), nullable=False),
        sa.Column("writeback_rejected", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "stream"),
        if_not_exists=True,
    )
    op.create_index(op.f("ix_stream_metrics_at"), "stream_metrics", ["at"], unique=False, if_not_exists=True)
    op.create_index(
        op.f("ix_stream_metrics_connection"),
        "stream_metrics",
        ["connection"],
        unique=False,
        if_not_exists=True,
    )

    op.create_table(
        "stream_state",
        sa.Column("connection", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("stream", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("run_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("connection", "stream"),
        if_not_exists=True,
    )
    op.create_table(
        "sync_runs",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("connection", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("full_refresh", sa.Boolean(), nullable=False),
        sa.Column("started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("ended_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("records_read", sa.Integer(), nullable=False),
        sa.Column("records_written", sa.Integer(), nullable=False),
        sa.Column("records_dead_lettered", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_sync_runs_connection"), "sync_runs", ["connection"], unique=False, if_not_exists=True
    )

    op.create_table(
        "writeback_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("connection", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("stream", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("record_ref", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("remote_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_writeback_results_connection"),
        "writeback_results",
        ["connection"],
        unique=False,
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_writeback_results_run_id"), "writeback_results", ["run_id"], unique=False, if_not_exists=True
    )

    op.create_table(
        "writeback_snapshots",
        sa.Column("destination", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("key_hash", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("payload_hash", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("record_ref", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("remote_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("run_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("sent_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("destination", "key_hash"),
        if_not_exists=True,
    )
    op.create_table(
        "stream_runs",
        sa.Column("run_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("stream", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("ended_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("records_read", sa.Integer(), nullable=False),
        sa.Column("records_written", sa.Integer(), nullable=False),
        sa.Column("records_dead_lettered", sa.Integer(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["sync_runs.id"],
        ),
        sa.PrimaryKeyConstraint("run_id", "stream"),
        if_not_exists=True,
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("stream_runs")
    op.drop_table("writeback_snapshots")
    with op.batch_alter_table("writeback_results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_writeback_results_run_id"))
        batch_op.drop_index(batch_op.f("ix_writeback_results_connection"))

    op.drop_table("writeback_results")
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sync_runs_connection"))

    op.drop_table("sync_runs")
    op.drop_table("stream_state")
    with op.batch_alter_table("stream_metrics", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stream_metrics_connection"))
        batch_op.drop_index(batch_op.f("ix_stream_metrics_at"))

    op.drop_table("stream_metrics")
    op.drop_table("secrets")
    op.drop_table("run_leases")
    with op.batch_alter_table("reconcile_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reconcile_reports_connection"))
        batch_op.drop_index(batch_op.f("ix_reconcile_reports_check_id"))

    op.drop_table("reconcile_reports")
    with op.batch_alter_table("identity_splits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_splits_split_id"))
        batch_op.drop_index(batch_op.f("ix_identity_splits_record_key"))

    op.drop_table("identity_splits")
    op.drop_table("identity_runs")
    with op.batch_alter_table("identity_refusals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_refusals_record_b"))
        batch_op.drop_index(batch_op.f("ix_identity_refusals_record_a"))

    op.drop_table("identity_refusals")
    with op.batch_alter_table("identity_redirects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_redirects_profile_id"))

    op.drop_table("identity_redirects")
    op.drop_table("identity_model")
    op.drop_table("identity_links")
    with op.batch_alter_table("identity_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_decisions_record_b"))
        batch_op.drop_index(batch_op.f("ix_identity_decisions_record_a"))

    op.drop_table("identity_decisions")
    with op.batch_alter_table("identity_assignments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_assignments_profile_id"))

    op.drop_table("identity_assignments")
    op.drop_table("governance_policy")
    with op.batch_alter_table("governance_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_governance_decisions_run_id"))
        batch_op.drop_index(batch_op.f("ix_governance_decisions_record_key"))
        batch_op.drop_index(batch_op.f("ix_governance_decisions_profile_id"))

    op.drop_table("governance_decisions")
    with op.batch_alter_table("erasure_tombstones", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_erasure_tombstones_request_id"))

    op.drop_table("erasure_tombstones")
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dead_letters_run_id"))
        batch_op.drop_index(batch_op.f("ix_dead_letters_connection"))

    op.drop_table("dead_letters")
    op.drop_table("connections")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_events_target"))
        batch_op.drop_index(batch_op.f("ix_audit_events_seq"))
        batch_op.drop_index(batch_op.f("ix_audit_events_at"))
        batch_op.drop_index(batch_op.f("ix_audit_events_action"))

    op.drop_table("audit_events")
    op.drop_table("api_usage")
    op.drop_table("api_run_usage")
    op.drop_table("api_refusal")
    op.drop_table("api_keys")
    with op.batch_alter_table("api_call", schema=None) as batch_op:
        batch_op.drop_index("ix_api_call_account_win_at")

    op.drop_table("api_call")
    op.drop_table("api_account_state")
