"""What the headquarters page reads besides the counts: region x category as its own table, and the alerts.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03

``marts.region_category_counts``: persons per night, region and category, with its own small-count
suppression, linked to ``marts.category_counts`` (the finer breakdown) so that neither table gives back a
cell the other hides (``ridni.publish.suppression.suppress_linked``).

``marts.alert_summary``: a view of ``audit.alert`` that the page's ``hq_analyst`` role may read: per
night, kind, severity and source, how many alerts and rows; never the alerts' text, which is for the
operators' channels and ``audit`` (owned by the migration role, like ``marts.source_quality``).
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    CREATE TABLE marts.region_category_counts (
        night date NOT NULL,
        category text NOT NULL,
        region text NOT NULL,
        count_value integer,
        suppressed boolean NOT NULL,
        suppression text,
        PRIMARY KEY (night, category, region)
    );
    COMMENT ON TABLE marts.region_category_counts IS 'Persons per night, region and category; a count from 1 to the threshold - 1 (and its complements, in this table and against marts.category_counts) is NULL with suppressed = true.';
    GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON marts.region_category_counts TO ridni_writer;
    GRANT SELECT ON marts.region_category_counts TO hq_analyst;

    CREATE VIEW marts.alert_summary AS
    SELECT COALESCE(extract_date, (at AT TIME ZONE 'UTC')::date) AS night, kind, severity, source_id,
           count(*)::integer AS alerts, sum(rows_affected)::integer AS rows_affected
    FROM audit.alert
    GROUP BY 1, 2, 3, 4;
    COMMENT ON VIEW marts.alert_summary IS 'Per night, alert kind, severity and source: how many alerts and rows they concern. Counts only: the alerts'' text stays in audit.alert.';
    GRANT SELECT ON marts.alert_summary TO hq_analyst;
    """)


def downgrade() -> None:
    op.execute("DROP VIEW marts.alert_summary")
    op.execute("DROP TABLE marts.region_category_counts")
