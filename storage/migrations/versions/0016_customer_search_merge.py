"""Customers found by the beginning of their name (an indexed search key), and merged into
one another with a record of what moved, so a merge can be undone.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from interaction_center.domain.identity import name_key
from storage.models import AutoId, UTCDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customers") as table:
        table.add_column(sa.Column("name_key", sa.String(200), nullable=False, server_default=""))
        table.add_column(sa.Column("merged_into", sa.String(36)))
    op.create_index("ix_customers_name_key", "customers", ["name_key"])
    # Folded in Python, as new customers' are: SQL's lower() folds ASCII only on SQLite.
    conn = op.get_bind()
    customers = sa.table("customers", sa.column("id", sa.String), sa.column("display_name", sa.String),
                         sa.column("name_key", sa.String))  # fmt: skip
    rows = conn.execute(sa.select(customers.c.id, customers.c.display_name)).all()
    if rows:
        conn.execute(
            customers.update().where(customers.c.id == sa.bindparam("row_id")).values(name_key=sa.bindparam("key")),
            [{"row_id": row_id, "key": name_key(name)} for row_id, name in rows],
        )
    op.create_table(
        "customer_merges",
        sa.Column("id", AutoId, primary_key=True, autoincrement=True),
        sa.Column("into_id", sa.String(36), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("from_id", sa.String(36), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("identity_ids", sa.JSON(), nullable=False),
        sa.Column("interaction_ids", sa.JSON(), nullable=False),
        sa.Column("merged_by", sa.String(36), nullable=False),
        sa.Column("merged_at", UTCDateTime(), nullable=False),
        sa.Column("unmerged_by", sa.String(36)),
        sa.Column("unmerged_at", UTCDateTime()),
    )
    op.create_index("ix_customer_merges_into_id", "customer_merges", ["into_id"])


def downgrade() -> None:
    op.drop_index("ix_customer_merges_into_id", "customer_merges")
    op.drop_table("customer_merges")
    op.drop_index("ix_customers_name_key", "customers")
    with op.batch_alter_table("customers") as table:
        table.drop_column("merged_into")
        table.drop_column("name_key")
