"""What each person adds to the reconciliation, kept by the decision so the marts only sum it.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29

The reconciliation (``marts.reconciliation``) sets each source's own count per category beside the
warehouse's count for the same persons. Computed from all evidence every night, it cost seconds of an
incremental night in which a few thousand persons moved. Each person's part of it is a handful of
rows, one per source and category its evidence gives, with the person's decided category and number of
sources; the decision writes those rows for the persons it decides (all on a full night, the affected
ones on an incremental night), and the marts add them up.
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    CREATE TABLE core.reconciliation_person (
        person_id bigint NOT NULL,
        source_id text NOT NULL,
        category text NOT NULL,            -- what this source's evidence says
        decided text,                      -- the person's decided category (NULL: none)
        sources integer NOT NULL,          -- how many sources give evidence on the person
        first_of_source boolean NOT NULL,  -- one row per person and source: the warehouse's count
        PRIMARY KEY (person_id, source_id, category)
    );
    -- what the warehouse holds already (an upgraded warehouse reconciles without deciding again)
    INSERT INTO core.reconciliation_person
    SELECT p.person_id, p.source_id, p.category, s.category, o.sources,
           row_number() OVER (PARTITION BY p.person_id, p.source_id ORDER BY p.category) = 1
    FROM (SELECT DISTINCT person_id, source_id, category FROM core.evidence) p
    JOIN (SELECT person_id, count(DISTINCT source_id) AS sources FROM core.evidence GROUP BY person_id) o
      USING (person_id)
    LEFT JOIN core.person_status s ON s.person_id = p.person_id AND s.valid_to IS NULL
    """)


def downgrade() -> None:
    op.execute("DROP TABLE core.reconciliation_person")
