"""Phone calls: each call's place in its IVR flow, its step and last answer (so retried
webhooks are answered alike by any instance), its wait and its conference.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "voice_calls",
        sa.Column("call_sid", sa.String(64), primary_key=True),
        sa.Column(
            "interaction_id", sa.String(36), sa.ForeignKey("interactions.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("caller", sa.String(64), nullable=False),
        sa.Column("dialled", sa.String(32), nullable=False),
        sa.Column("phase", sa.String(16), nullable=False),
        sa.Column("flow_state", sa.JSON(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("announced_position", sa.Integer()),
        sa.Column("announced_at", UTCDateTime()),
        sa.Column("leave_to", sa.String(120)),
        sa.Column("conference_sid", sa.String(64)),
        sa.Column("agent_call_sid", sa.String(64)),
        sa.Column("callback_attempts", sa.Integer(), nullable=False),
        sa.Column("callback_due_at", UTCDateTime()),
        sa.Column("answered_at", UTCDateTime()),
        sa.Column("ended_at", UTCDateTime()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False, server_default=sa.text("1")),
    )
    op.create_index("ix_voice_calls_interaction_id", "voice_calls", ["interaction_id"])
    op.create_index("ix_voice_calls_callback_due_at", "voice_calls", ["callback_due_at"])


def downgrade() -> None:
    op.drop_table("voice_calls")
