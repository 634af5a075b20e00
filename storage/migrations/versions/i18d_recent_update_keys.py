"""The platform ids of the latest updates handled per account: ``conversation_states.recent_keys``, so an
update delivered again after a crash is recognised and changes nothing (handlers/dispatcher.py).

Revision ID: i18d_recent_update_keys
Revises: i15v_client_state
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "i18d_recent_update_keys"
down_revision = "i15v_client_state"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conversation_states", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recent_keys", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("conversation_states", schema=None) as batch_op:
        batch_op.drop_column("recent_keys")
