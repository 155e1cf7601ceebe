"""Guarded state changes and a durable event log: a version on interactions and agents
(every change is conditional on it), a sequence on every event within its stream,
agents' events, the head of each stream, and how far each consumer has read.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("interactions", "agents"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default=sa.text("1")))
    with op.batch_alter_table("interaction_events") as batch:
        batch.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
    # The history so far keeps its order: its sequence is its id.
    op.execute("UPDATE interaction_events SET seq = id")
    op.create_index("uq_interaction_events_seq", "interaction_events", ["seq"], unique=True)
    op.create_table(
        "agent_events",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=False),
        sa.Column("agent_id", sa.String(36), sa.ForeignKey("agents.id", ondelete="CASCADE"), nullable=False),
        sa.Column("type", sa.String(50), nullable=False),
        sa.Column("actor_kind", sa.String(16), nullable=False),
        sa.Column("actor_id", sa.String(36), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_agent_events_agent_id", "agent_events", ["agent_id"])
    streams = op.create_table(
        "event_streams",
        sa.Column("name", sa.String(50), primary_key=True),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
    )
    assert streams is not None
    op.execute(
        "INSERT INTO event_streams (name, last_seq)"
        " SELECT 'interactions', COALESCE(MAX(seq), 0) FROM interaction_events"
    )
    op.bulk_insert(streams, [{"name": "agents", "last_seq": 0}])
    op.create_table(
        "consumer_positions",
        sa.Column("consumer", sa.String(100), primary_key=True),
        sa.Column("stream", sa.String(50), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("consumer_positions")
    op.drop_table("event_streams")
    op.drop_index("ix_agent_events_agent_id", table_name="agent_events")
    op.drop_table("agent_events")
    op.drop_index("uq_interaction_events_seq", table_name="interaction_events")
    with op.batch_alter_table("interaction_events") as batch:
        batch.drop_column("seq")
    for table in ("interactions", "agents"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("version")
