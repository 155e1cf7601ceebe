"""Short abandons (customers who left within routing.short_abandon_seconds), counted apart
in the queues' tallies.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("queue_tallies", sa.Column("short_abandoned", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("queue_tallies") as table:
        table.drop_column("short_abandoned")
