"""What a channel knows of a person's messenger app (VK keyboard support): ``channel_accounts.client_state``.

Revision ID: i15v_client_state
Revises: i14b_pair_proposals
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "i15v_client_state"
down_revision = "i14b_pair_proposals"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("channel_accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client_state", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("channel_accounts", schema=None) as batch_op:
        batch_op.drop_column("client_state")
