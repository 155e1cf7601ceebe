"""An agent's completed interactions, newest first, by index: their work list pages
through them.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_interactions_agent_closed", "interactions", ["assigned_agent_id", "closed_at"])


def downgrade() -> None:
    op.drop_index("ix_interactions_agent_closed", "interactions")
