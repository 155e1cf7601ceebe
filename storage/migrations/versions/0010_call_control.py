"""Call control: the customer's leg in the conference when it is not the inbound call (a
callback dials the customer into it), so the agent can hold it; the supervisor listening
in, whispering or barging, and their leg, so a second request changes their mode; the
agent consulted before a warm transfer, their leg and when they answered.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("voice_calls") as table:
        table.add_column(sa.Column("customer_call_sid", sa.String(64)))
        table.add_column(sa.Column("supervisor_id", sa.String(36)))
        table.add_column(sa.Column("supervisor_call_sid", sa.String(64)))
        table.add_column(sa.Column("consult_agent_id", sa.String(36)))
        table.add_column(sa.Column("consult_call_sid", sa.String(64)))
        table.add_column(sa.Column("consult_answered_at", UTCDateTime()))


def downgrade() -> None:
    with op.batch_alter_table("voice_calls") as table:
        table.drop_column("consult_answered_at")
        table.drop_column("consult_call_sid")
        table.drop_column("consult_agent_id")
        table.drop_column("supervisor_call_sid")
        table.drop_column("supervisor_id")
        table.drop_column("customer_call_sid")
