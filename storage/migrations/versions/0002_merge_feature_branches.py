"""merge feature branches

Revision ID: 0002
Revises: d1_mentoring, e1_delivery, f1_checkins
Create Date: 2026-11-23 06:26:45.604506
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types


revision = '0002'
down_revision = ('d1_mentoring', 'e1_delivery', 'f1_checkins')
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
