"""The check-in's client-related CBI scale (pupils): its score on each result.

Revision ID: i12c_cbi_client
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "i12c_cbi_client"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("checkin_results", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client_score", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("checkin_results", schema=None) as batch_op:
        batch_op.drop_column("client_score")
