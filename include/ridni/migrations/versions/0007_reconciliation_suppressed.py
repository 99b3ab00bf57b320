"""marts.reconciliation holds no count from 1 to 4: such a count is stored as NULL (suppressed).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29

Readers with the hq_analyst role read marts directly; a small count in the reconciliation could point
at a handful of persons. Like marts.category_counts, the mart now stores what may be published.
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

COUNTS = ("source_count", "warehouse_count", "only_in_source", "disagreeing")


def upgrade() -> None:
    for column in COUNTS:
        op.execute(f"ALTER TABLE marts.reconciliation ALTER COLUMN {column} DROP NOT NULL")
        op.execute(f"UPDATE marts.reconciliation SET {column} = NULL WHERE {column} BETWEEN 1 AND 4")  # noqa: S608


def downgrade() -> None:
    for column in COUNTS:  # the suppressed values are gone; they come back as 0 only to satisfy NOT NULL
        op.execute(f"UPDATE marts.reconciliation SET {column} = 0 WHERE {column} IS NULL")  # noqa: S608
        op.execute(f"ALTER TABLE marts.reconciliation ALTER COLUMN {column} SET NOT NULL")
