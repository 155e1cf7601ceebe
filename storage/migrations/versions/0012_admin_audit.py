"""Agents that can be deactivated, and the audit log of every change made through the API
or the command line.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from storage.models import AutoId, UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("agents", sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.text("true")))
    op.create_table(
        "audit_log",
        sa.Column("id", AutoId, primary_key=True, autoincrement=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor_id", sa.String(100)),
        sa.Column("actor_role", sa.String(16)),
        sa.Column("action", sa.String(200), nullable=False),
        sa.Column("target", sa.JSON(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("address", sa.String(100), nullable=False),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_actor_id", "audit_log", ["actor_id"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_actor_id", "audit_log")
    op.drop_index("ix_audit_log_at", "audit_log")
    op.drop_table("audit_log")
    with op.batch_alter_table("agents") as table:
        table.drop_column("active")
