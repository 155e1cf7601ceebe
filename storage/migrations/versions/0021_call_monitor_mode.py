"""The mode a supervisor is on a call in (listen, whisper, barge), beside their leg: the
work list says who monitors a call and how, and the dashboard shows it pressed. A
supervisor on a call across the upgrade gets the mode of the call's last
``call_monitored`` event.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("voice_calls") as table:
        table.add_column(sa.Column("supervisor_mode", sa.String(16)))
    calls = sa.table(
        "voice_calls",
        sa.column("interaction_id", sa.String),
        sa.column("supervisor_call_sid", sa.String),
        sa.column("supervisor_mode", sa.String),
    )
    events = sa.table(
        "interaction_events",
        sa.column("id", sa.Integer),
        sa.column("interaction_id", sa.String),
        sa.column("type", sa.String),
        sa.column("data", sa.JSON),
    )
    last_mode = (
        sa.select(events.c.data["mode"].as_string())
        .where(events.c.interaction_id == calls.c.interaction_id, events.c.type == "call_monitored")
        .order_by(events.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    op.execute(calls.update().where(calls.c.supervisor_call_sid.is_not(None)).values(supervisor_mode=last_mode))


def downgrade() -> None:
    with op.batch_alter_table("voice_calls") as table:
        table.drop_column("supervisor_mode")
