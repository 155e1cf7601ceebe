"""Interactions set aside by their agent (on hold for the customer, or snoozed until a
time), and an index of the snoozed ones for the look that wakes them.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from storage.models import SNOOZED_SQL, UTCDateTime

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("interactions", sa.Column("parked_until", UTCDateTime(), nullable=True))
    op.create_index(
        "ix_interactions_snoozed_until",
        "interactions",
        ["parked_until"],
        sqlite_where=sa.text(SNOOZED_SQL),
        postgresql_where=sa.text(SNOOZED_SQL),
    )


def downgrade() -> None:
    op.drop_index("ix_interactions_snoozed_until", table_name="interactions")
    with op.batch_alter_table("interactions") as table:
        table.drop_column("parked_until")
