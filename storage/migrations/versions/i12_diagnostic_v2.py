"""Diagnostic bank v2 (parallel forms, subject sets, option shuffle, self-view apart) and the year work started.

Revision ID: i12_diagnostic_v2
Revises: h1_pairs
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "i12_diagnostic_v2"
down_revision = "h1_pairs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("diagnostic_attempts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("form", sa.String(length=8), server_default="A", nullable=False))
        batch_op.add_column(sa.Column("subject", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("shuffle_seed", sa.Integer(), nullable=True))
    with op.batch_alter_table("diagnostic_area_results", schema=None) as batch_op:
        batch_op.add_column(sa.Column("self_percent", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("answered", sa.Integer(), nullable=True))
    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.add_column(sa.Column("work_started_year", sa.Integer(), nullable=True))
    # Experience was stored in full years at onboarding; the school year work started is the school year of
    # that moment minus those years (a school year begins on 1 September).
    persons = sa.table(
        "persons",
        sa.column("id", sa.Integer()),
        sa.column("experience_years", sa.Integer()),
        sa.column("created_at", sa.DateTime()),
        sa.column("work_started_year", sa.Integer()),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(persons.c.id, persons.c.experience_years, persons.c.created_at).where(
            persons.c.experience_years.is_not(None)
        )
    ).all()
    for person_id, years, created_at in rows:
        if isinstance(created_at, str):  # SQLite may hand back the stored text
            year, month = int(created_at[:4]), int(created_at[5:7])
        else:
            year, month = created_at.year, created_at.month
        school_year = year if month >= 9 else year - 1
        bind.execute(
            persons.update().where(persons.c.id == person_id).values(work_started_year=school_year - years)
        )


def downgrade() -> None:
    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.drop_column("work_started_year")
    with op.batch_alter_table("diagnostic_area_results", schema=None) as batch_op:
        batch_op.drop_column("answered")
        batch_op.drop_column("self_percent")
    with op.batch_alter_table("diagnostic_attempts", schema=None) as batch_op:
        batch_op.drop_column("shuffle_seed")
        batch_op.drop_column("subject")
        batch_op.drop_column("form")
