"""merge the issue branches (round 2)

Revision ID: 0003
Revises: i12_diagnostic_v2, i13_iom_route, i14_schools_curators, i15_reliability, i17_support_measures
"""

from __future__ import annotations

revision = "0003"
down_revision = ("i12_diagnostic_v2", "i13_iom_route", "i14_schools_curators", "i15_reliability", "i17_support_measures")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
