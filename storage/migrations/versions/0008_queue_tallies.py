"""Queue statistics counted from the event log, per quarter-hour interval, so that the
day's figures survive a restart and every instance reads the same ones.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

COUNTS = (
    "answered",
    "answered_within_target",
    "abandoned",
    "abandoned_after_target",
    "sla_breaches",
    "first_response_breaches",
)


def upgrade() -> None:
    op.create_table(
        "queue_tallies",
        sa.Column("interval_start", UTCDateTime(), primary_key=True),
        sa.Column("queue", sa.String(100), primary_key=True),
        sa.Column("channel", sa.String(16), primary_key=True),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS),
        sa.Column("answer_seconds", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("queue_tallies")
