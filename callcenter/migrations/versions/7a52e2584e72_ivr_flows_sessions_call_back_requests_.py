"""ivr flows sessions call-back requests survey results

Revision ID: 7a52e2584e72
Revises: bd8dffe3badb
Create Date: 2026-11-24 04:51:22.681977
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "7a52e2584e72"
down_revision: str | None = "bd8dffe3badb"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # the IVR (issue 6): versioned flows, one row per IVR session, call-back requests, survey answers
    op.create_table(
        "ivr_flows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(length=300), nullable=True),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_ivr_flows_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ivr_flows")),
        sa.UniqueConstraint("name", "version", name="uq_ivr_flows_name_version"),
    )
    with op.batch_alter_table("ivr_flows", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ivr_flows_name"), ["name"], unique=False)

    op.create_table(
        "ivr_survey_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("linkedid", sa.String(length=64), nullable=True),
        sa.Column("uniqueid", sa.String(length=64), nullable=True),
        sa.Column("caller", sa.String(length=32), nullable=True),
        sa.Column("queue", sa.String(length=64), nullable=True),
        sa.Column("agent_interface", sa.String(length=100), nullable=True),
        sa.Column("agent_name", sa.String(length=100), nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("answered_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("score BETWEEN 1 AND 5", name=op.f("ck_ivr_survey_results_score_range")),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["users.id"], name=op.f("fk_ivr_survey_results_agent_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ivr_survey_results")),
    )
    with op.batch_alter_table("ivr_survey_results", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ivr_survey_results_agent_id"), ["agent_id"], unique=False)
        batch_op.create_index("ix_ivr_survey_results_answered", ["answered_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_ivr_survey_results_linkedid"), ["linkedid"], unique=False)
        batch_op.create_index(batch_op.f("ix_ivr_survey_results_queue"), ["queue"], unique=False)

    op.create_table(
        "ivr_callback_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("linkedid", sa.String(length=64), nullable=True),
        sa.Column("caller", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("queue", sa.String(length=64), nullable=True),
        sa.Column(
            "reason",
            sa.Enum("out_of_hours", "long_wait", name="callbackreason", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "dialling",
                "done",
                "cancelled",
                name="callbackstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("requested_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_ivr_callback_requests_customer_id_customers"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ivr_callback_requests")),
    )
    with op.batch_alter_table("ivr_callback_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ivr_callback_requests_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_ivr_callback_requests_linkedid"), ["linkedid"], unique=False)
        batch_op.create_index(
            "ix_ivr_callback_requests_status_requested", ["status", "requested_at"], unique=False
        )

    op.create_table(
        "ivr_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("script", sa.String(length=32), nullable=False),
        sa.Column("linkedid", sa.String(length=64), nullable=True),
        sa.Column("uniqueid", sa.String(length=64), nullable=True),
        sa.Column("channel", sa.String(length=100), nullable=True),
        sa.Column("caller", sa.String(length=32), nullable=True),
        sa.Column("caller_name", sa.String(length=100), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("flow_id", sa.Integer(), nullable=True),
        sa.Column("flow_version", sa.Integer(), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("path", sa.JSON(), nullable=False),
        sa.Column("choice", sa.String(length=16), nullable=True),
        sa.Column("queue", sa.String(length=64), nullable=True),
        sa.Column("queue_priority", sa.Integer(), nullable=True),
        sa.Column(
            "outcome",
            sa.Enum(
                "self_service",
                "to_queue",
                "callback",
                "hangup",
                "error",
                name="ivroutcome",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("error", sa.String(length=300), nullable=True),
        sa.Column("commands", sa.Integer(), nullable=False),
        sa.Column("started_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_ivr_sessions_customer_id_customers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["flow_id"], ["ivr_flows.id"], name=op.f("fk_ivr_sessions_flow_id_ivr_flows"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ivr_sessions")),
    )
    with op.batch_alter_table("ivr_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ivr_sessions_caller"), ["caller"], unique=False)
        batch_op.create_index(batch_op.f("ix_ivr_sessions_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ivr_sessions_linkedid"), ["linkedid"], unique=False)
        batch_op.create_index("ix_ivr_sessions_started", ["started_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_ivr_sessions_uniqueid"), ["uniqueid"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ivr_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ivr_sessions_uniqueid"))
        batch_op.drop_index("ix_ivr_sessions_started")
        batch_op.drop_index(batch_op.f("ix_ivr_sessions_linkedid"))
        batch_op.drop_index(batch_op.f("ix_ivr_sessions_customer_id"))
        batch_op.drop_index(batch_op.f("ix_ivr_sessions_caller"))

    op.drop_table("ivr_sessions")
    with op.batch_alter_table("ivr_callback_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_ivr_callback_requests_status_requested")
        batch_op.drop_index(batch_op.f("ix_ivr_callback_requests_linkedid"))
        batch_op.drop_index(batch_op.f("ix_ivr_callback_requests_customer_id"))

    op.drop_table("ivr_callback_requests")
    with op.batch_alter_table("ivr_survey_results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ivr_survey_results_queue"))
        batch_op.drop_index(batch_op.f("ix_ivr_survey_results_linkedid"))
        batch_op.drop_index("ix_ivr_survey_results_answered")
        batch_op.drop_index(batch_op.f("ix_ivr_survey_results_agent_id"))

    op.drop_table("ivr_survey_results")
    with op.batch_alter_table("ivr_flows", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ivr_flows_name"))

    op.drop_table("ivr_flows")
