"""An index of the interactions still waiting for a first response, for the routing tick.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from storage.models import FIRST_RESPONSE_PENDING_SQL

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_interactions_first_response_due",
        "interactions",
        ["first_response_deadline"],
        sqlite_where=sa.text(FIRST_RESPONSE_PENDING_SQL),
        postgresql_where=sa.text(FIRST_RESPONSE_PENDING_SQL),
    )


def downgrade() -> None:
    op.drop_index("ix_interactions_first_response_due", table_name="interactions")
