"""The note an agent leaves with a transfer, kept on the interaction for whoever is offered
it next (it is also in the transfer's event).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("interactions", sa.Column("transfer_note", sa.Text()))


def downgrade() -> None:
    with op.batch_alter_table("interactions") as table:
        table.drop_column("transfer_note")
