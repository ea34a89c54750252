"""indexes for today's queue legs and ring attempts

Revision ID: bd8dffe3badb
Revises: 37e8c9aceb93
Create Date: 2026-11-24 04:32:01.482144
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "bd8dffe3badb"
down_revision: str | None = "37e8c9aceb93"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # the wallboard's "today" across queues and one agent's day read these without scanning the history
    with op.batch_alter_table("pbx_queue_legs", schema=None) as batch_op:
        batch_op.create_index("ix_pbx_queue_legs_interface_joined", ["interface", "joined_at"], unique=False)
        batch_op.create_index("ix_pbx_queue_legs_joined", ["joined_at"], unique=False)

    with op.batch_alter_table("pbx_ring_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_pbx_ring_attempts_started", ["started_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("pbx_ring_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_pbx_ring_attempts_started")

    with op.batch_alter_table("pbx_queue_legs", schema=None) as batch_op:
        batch_op.drop_index("ix_pbx_queue_legs_joined")
        batch_op.drop_index("ix_pbx_queue_legs_interface_joined")
