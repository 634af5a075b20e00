"""ИОМ approval and editing: who approved and when, mentor-dependent steps, the change log (iom_changes).

Routes that approved themselves without a methodist («согласован со школой») go back to «ожидает методиста»:
nobody who may approve has signed them, so they must not count toward the 30 % / 80 % norms.

Revision ID: i13_iom_route
Revises: h1_pairs
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "i13_iom_route"
down_revision = "h1_pairs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "iom_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("iom_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["iom_id"], ["ioms.id"], name=op.f("fk_iom_changes_iom_id_ioms"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_iom_changes_person_id_persons"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_iom_changes")),
    )
    with op.batch_alter_table("iom_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_iom_changes_iom_id"), ["iom_id"], unique=False)
    with op.batch_alter_table("ioms", schema=None) as batch_op:
        batch_op.add_column(sa.Column("approved_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("approved_at", storage.types.UTCDateTime(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_ioms_approved_by_id_persons"),
            "persons",
            ["approved_by_id"],
            ["id"],
            ondelete="SET NULL",
        )
    with op.batch_alter_table("iom_steps", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("after_mentor", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.execute(
        "UPDATE ioms SET status = 'awaiting', review_comment = NULL "
        "WHERE status = 'approved' AND review_comment = 'согласован со школой'"
    )


def downgrade() -> None:
    with op.batch_alter_table("iom_steps", schema=None) as batch_op:
        batch_op.drop_column("after_mentor")
    with op.batch_alter_table("ioms", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_ioms_approved_by_id_persons"), type_="foreignkey")
        batch_op.drop_column("approved_at")
        batch_op.drop_column("approved_by_id")
    with op.batch_alter_table("iom_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_iom_changes_iom_id"))
    op.drop_table("iom_changes")
