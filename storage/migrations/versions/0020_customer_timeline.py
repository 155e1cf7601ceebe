"""A customer's interactions indexed by when they began: their timeline shows them newest
first, a page at a time. By (customer_id, closed_at) SQLite read all of a customer's
interactions and sorted them for each page (200 rows for a page of 20, in
bench/workspace.py's database); by (customer_id, created_at, id), the page's order
with its ties broken, it reads the page.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06
"""

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_interactions_customer_created", "interactions", ["customer_id", "created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_interactions_customer_created", "interactions")
