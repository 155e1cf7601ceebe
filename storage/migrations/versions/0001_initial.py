"""Customers, identities, agents and their tokens, interactions, messages and events.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

from storage.models import AutoId, UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

OPEN_THREAD = "state NOT IN ('completed', 'abandoned', 'cancelled')"


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "customer_identities",
        sa.Column("id", AutoId, primary_key=True, autoincrement=True),
        sa.Column("customer_id", sa.String(36), sa.ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value", sa.String(320), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("kind", "value", name="uq_identity_kind_value"),
    )
    op.create_index("ix_customer_identities_customer_id", "customer_identities", ["customer_id"])
    op.create_table(
        "agents",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("username", sa.String(100), nullable=False, unique=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_reason", sa.String(50), nullable=True),
        sa.Column("status_changed_at", UTCDateTime(), nullable=False),
        sa.Column("queues", sa.JSON(), nullable=False),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "auth_tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("agent_id", sa.String(36), sa.ForeignKey("agents.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_auth_tokens_agent_id", "auth_tokens", ["agent_id"])
    op.create_index("ix_auth_tokens_expires_at", "auth_tokens", ["expires_at"])
    op.create_table(
        "interactions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("customer_id", sa.String(36), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("queue", sa.String(100), nullable=False),
        sa.Column("thread_key", sa.String(400), nullable=False),
        sa.Column("enqueued_at", UTCDateTime(), nullable=True),
        sa.Column("answer_deadline", UTCDateTime(), nullable=True),
        sa.Column("assigned_agent_id", sa.String(36), sa.ForeignKey("agents.id"), nullable=True),
        sa.Column("offer_id", sa.String(36), nullable=True),
        sa.Column("offered_agent_id", sa.String(36), sa.ForeignKey("agents.id"), nullable=True),
        sa.Column("offer_expires_at", UTCDateTime(), nullable=True),
        sa.Column("disposition", sa.String(100), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_interactions_customer_id", "interactions", ["customer_id"])
    op.create_index("ix_interactions_assigned_agent_id", "interactions", ["assigned_agent_id"])
    op.create_index("ix_interactions_offered_agent_id", "interactions", ["offered_agent_id"])
    op.create_index("ix_interactions_state", "interactions", ["state"])
    op.create_index(
        "uq_interactions_open_thread",
        "interactions",
        ["thread_key"],
        unique=True,
        sqlite_where=sa.text(OPEN_THREAD),
        postgresql_where=sa.text(OPEN_THREAD),
    )
    op.create_table(
        "messages",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "interaction_id", sa.String(36), sa.ForeignKey("interactions.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("direction", sa.String(16), nullable=False),
        sa.Column("external_id", sa.String(200), nullable=True),
        sa.Column("from_address", sa.String(320), nullable=False),
        sa.Column("to_address", sa.String(320), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("author_agent_id", sa.String(36), sa.ForeignKey("agents.id"), nullable=True),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("channel", "external_id", name="uq_messages_channel_external_id"),
    )
    op.create_index("ix_messages_interaction_id", "messages", ["interaction_id"])
    op.create_table(
        "interaction_events",
        sa.Column("id", AutoId, primary_key=True, autoincrement=True),
        sa.Column(
            "interaction_id", sa.String(36), sa.ForeignKey("interactions.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("type", sa.String(50), nullable=False),
        sa.Column("actor_kind", sa.String(16), nullable=False),
        sa.Column("actor_id", sa.String(36), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_interaction_events_interaction_id", "interaction_events", ["interaction_id"])


def downgrade() -> None:
    for table in ("interaction_events", "messages", "interactions", "auth_tokens", "agents", "customer_identities"):
        op.drop_table(table)
    op.drop_table("customers")
