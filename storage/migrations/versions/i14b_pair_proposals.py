"""A school curator's pair proposals (issue 14): a mentoring pair inside a school with both consents.

Revision ID: i14b_pair_proposals
Revises: i12c_cbi_client
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "i14b_pair_proposals"
down_revision = "i12c_cbi_client"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pair_proposals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("curator_id", sa.Integer(), nullable=True),
        sa.Column("teacher_id", sa.Integer(), nullable=False),
        sa.Column("mentor_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("teacher_answer", sa.String(length=16), nullable=True),
        sa.Column("teacher_answered_at", UTCDateTime(), nullable=True),
        sa.Column("mentor_answer", sa.String(length=16), nullable=True),
        sa.Column("mentor_answered_at", UTCDateTime(), nullable=True),
        sa.Column("pair_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_pair_proposals_school_id_schools"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["curator_id"], ["persons.id"], name=op.f("fk_pair_proposals_curator_id_persons"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["teacher_id"], ["persons.id"], name=op.f("fk_pair_proposals_teacher_id_persons"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["mentor_id"], ["persons.id"], name=op.f("fk_pair_proposals_mentor_id_persons"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["pair_id"], ["pairs.id"], name=op.f("fk_pair_proposals_pair_id_pairs"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pair_proposals")),
    )
    with op.batch_alter_table("pair_proposals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pair_proposals_school_id"), ["school_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_pair_proposals_teacher_id"), ["teacher_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_pair_proposals_mentor_id"), ["mentor_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("pair_proposals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pair_proposals_mentor_id"))
        batch_op.drop_index(batch_op.f("ix_pair_proposals_teacher_id"))
        batch_op.drop_index(batch_op.f("ix_pair_proposals_school_id"))
    op.drop_table("pair_proposals")
