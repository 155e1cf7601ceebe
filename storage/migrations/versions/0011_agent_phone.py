"""Agents' phones: where calls are put through to an agent who is not in the browser.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("agents", sa.Column("phone", sa.String(32)))


def downgrade() -> None:
    op.drop_column("agents", "phone")
