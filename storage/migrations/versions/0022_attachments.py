"""The files messages carry, kept: an email's attachments (either way) and a chat
visitor's uploads, which agents open from the transcript. Until now only their names,
types and sizes were kept, in the message's attributes.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attachments",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("message_id", sa.String(36), sa.ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),
        sa.Column(
            "interaction_id", sa.String(36), sa.ForeignKey("interactions.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(255), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_attachments_message_id", "attachments", ["message_id"])
    # An interaction deleted deletes its files: found by this, not a scan of them all.
    op.create_index("ix_attachments_interaction_id", "attachments", ["interaction_id"])


def downgrade() -> None:
    op.drop_index("ix_attachments_interaction_id", "attachments")
    op.drop_index("ix_attachments_message_id", "attachments")
    op.drop_table("attachments")
