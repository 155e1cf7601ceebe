"""Routing: priorities, required skills, escalation, SLA and first-response deadlines,
preferred agents; agents' routing profiles (queues with priority and delay, skill levels,
capacity).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_DATES = (
    "sla_breached_at",
    "first_response_deadline",
    "first_responded_at",
    "first_response_breached_at",
    "preferred_until",
)


def upgrade() -> None:
    with op.batch_alter_table("interactions") as table:
        table.add_column(sa.Column("priority", sa.Integer(), nullable=False, server_default="0"))
        table.add_column(sa.Column("required_skills", sa.JSON(), nullable=False, server_default=sa.text("'{}'")))
        table.add_column(sa.Column("escalation_level", sa.Integer(), nullable=False, server_default="0"))
        for name in _DATES:
            table.add_column(sa.Column(name, UTCDateTime(), nullable=True))
        table.add_column(sa.Column("preferred_agent_id", sa.String(36), nullable=True))
        table.create_foreign_key("fk_interactions_preferred_agent", "agents", ["preferred_agent_id"], ["id"])
    with op.batch_alter_table("agents") as table:
        table.add_column(sa.Column("capacity", sa.JSON(), nullable=False, server_default=sa.text("'{}'")))
    # Routing profiles were plain lists of queue and skill names; give them their shape.
    agents = sa.table("agents", sa.column("id", sa.String), sa.column("queues", sa.JSON), sa.column("skills", sa.JSON))
    connection = op.get_bind()
    for agent_id, queues, skills in connection.execute(sa.select(agents.c.id, agents.c.queues, agents.c.skills)):
        connection.execute(
            agents.update()
            .where(agents.c.id == agent_id)
            .values(
                queues=[{"queue": q, "priority": 1, "delay_seconds": 0} if isinstance(q, str) else q for q in queues],
                skills={s: 1 for s in skills} if isinstance(skills, list) else skills,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("agents") as table:
        table.drop_column("capacity")
    with op.batch_alter_table("interactions") as table:
        table.drop_constraint("fk_interactions_preferred_agent", type_="foreignkey")
        for name in ("priority", "required_skills", "escalation_level", *_DATES, "preferred_agent_id"):
            table.drop_column(name)
