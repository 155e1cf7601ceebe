"""An agent's interactions indexed by state too: the work list reads what an agent holds
(state "assigned"), what they parked and what they completed, newest first. By agent alone, the held part
read every interaction the agent ever had to find the few open ones (21 ms for an agent
with 11,600, in bench/workspace.py's database); by agent and state it reads those few,
and the completed part still pages through closed_at in order.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06
"""

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_interactions_agent_state_closed", "interactions", ["assigned_agent_id", "state", "closed_at"])
    op.drop_index("ix_interactions_agent_closed", "interactions")


def downgrade() -> None:
    op.create_index("ix_interactions_agent_closed", "interactions", ["assigned_agent_id", "closed_at"])
    op.drop_index("ix_interactions_agent_state_closed", "interactions")
