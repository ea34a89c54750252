"""call-back request attempts: attempts, next attempt, agent and close time as columns

Revision ID: ba4e76ec60b7
Revises: 7a52e2584e72
Create Date: 2026-11-24 06:03:00.434074
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "ba4e76ec60b7"
down_revision: str | None = "7a52e2584e72"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # the call-back dialer's attempts, retry time, agent and close time as columns (were audit rows)
    with op.batch_alter_table("ivr_callback_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("next_attempt_at", core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("agent_name", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("agent_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("done_at", core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(
            "ix_ivr_callback_requests_status_next_attempt", ["status", "next_attempt_at"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_ivr_callback_requests_agent_id_users"),
            "users",
            ["agent_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    # the call-back dialer's attempts, retry time, agent and close time as columns (were audit rows)
    with op.batch_alter_table("ivr_callback_requests", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_ivr_callback_requests_agent_id_users"), type_="foreignkey")
        batch_op.drop_index("ix_ivr_callback_requests_status_next_attempt")
        batch_op.drop_column("done_at")
        batch_op.drop_column("agent_id")
        batch_op.drop_column("agent_name")
        batch_op.drop_column("next_attempt_at")
        batch_op.drop_column("attempts")
