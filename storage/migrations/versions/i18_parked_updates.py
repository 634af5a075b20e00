"""Slow Telegram updates parked while they are handled, so the getUpdates offset can move on:
``telegram_parked_updates``.

Revision ID: i18_parked_updates
Revises: i18d_recent_update_keys
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "i18_parked_updates"
down_revision = "i18d_recent_update_keys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "telegram_parked_updates",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("sender_id", sa.String(length=32), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("parked_at", storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("update_id", name=op.f("pk_telegram_parked_updates")),
    )
    with op.batch_alter_table("telegram_parked_updates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_telegram_parked_updates_sender_id"), ["sender_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("telegram_parked_updates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_telegram_parked_updates_sender_id"))
    op.drop_table("telegram_parked_updates")
