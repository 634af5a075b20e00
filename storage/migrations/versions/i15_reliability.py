"""Reliability and privacy: channel cursors, seen updates, outbox subject, link-code confirmation and tries.

Revision ID: i15_reliability
Revises: h1_pairs
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "i15_reliability"
down_revision = "h1_pairs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_cursors",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_channel_cursors")),
    )
    op.create_table(
        "seen_updates",
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("seen_at", storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_seen_updates")),
    )
    with op.batch_alter_table("seen_updates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_seen_updates_seen_at"), ["seen_at"], unique=False)
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("about_person_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_outbox_about_person_id"), ["about_person_id"], unique=False)
    with op.batch_alter_table("channel_accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("link_failures", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("link_failed_at", storage.types.UTCDateTime(), nullable=True))
    with op.batch_alter_table("link_codes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tries", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("claimed_account_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_link_codes_claimed_account_id_channel_accounts"),
            "channel_accounts",
            ["claimed_account_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("link_codes", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_link_codes_claimed_account_id_channel_accounts"), type_="foreignkey"
        )
        batch_op.drop_column("claimed_account_id")
        batch_op.drop_column("tries")
    with op.batch_alter_table("channel_accounts", schema=None) as batch_op:
        batch_op.drop_column("link_failed_at")
        batch_op.drop_column("link_failures")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_about_person_id"))
        batch_op.drop_column("about_person_id")
    with op.batch_alter_table("seen_updates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_seen_updates_seen_at"))
    op.drop_table("seen_updates")
    op.drop_table("channel_cursors")
