"""SMS: opt-out on identities, delivery status time on messages.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customer_identities") as table:
        table.add_column(sa.Column("opted_out_at", UTCDateTime(), nullable=True))
    with op.batch_alter_table("messages") as table:
        table.add_column(sa.Column("status_updated_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages") as table:
        table.drop_column("status_updated_at")
    with op.batch_alter_table("customer_identities") as table:
        table.drop_column("opted_out_at")
