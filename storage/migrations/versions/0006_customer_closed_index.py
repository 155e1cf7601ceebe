"""A customer's interactions indexed with their closing time, in place of the index on the
customer alone: intake finds a returning customer's last agent by both.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_interactions_customer_closed", "interactions", ["customer_id", "closed_at"])
    op.drop_index("ix_interactions_customer_id", table_name="interactions")


def downgrade() -> None:
    op.create_index("ix_interactions_customer_id", "interactions", ["customer_id"])
    op.drop_index("ix_interactions_customer_closed", table_name="interactions")
