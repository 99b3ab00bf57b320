"""marts.source_quality: each source's data-quality status per night, for readers of marts.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29

A view owned by the migration role, so hq_analyst reads drop status and row counts without any right
on raw, staging or audit. Counts only, no personal data.
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


SOURCE_QUALITY_VIEW = """
CREATE VIEW marts.source_quality AS
WITH sources AS (
    SELECT source_id FROM raw.drop
    UNION
    SELECT source_id FROM audit.alert WHERE source_id IS NOT NULL AND extract_date IS NOT NULL
), nights AS (
    SELECT extract_date AS night FROM raw.drop
    UNION
    SELECT extract_date FROM audit.alert WHERE source_id IS NOT NULL AND extract_date IS NOT NULL
    UNION
    SELECT night FROM marts.headline
), last_drop AS (
    SELECT DISTINCT ON (source_id, extract_date) drop_id, source_id, extract_date, status
    FROM raw.drop
    ORDER BY source_id, extract_date, drop_id DESC
), loads AS (
    SELECT drop_id, sum(rows_received) AS rows_received, sum(rows_loaded) AS rows_loaded,
           sum(rows_quarantined) AS rows_quarantined
    FROM staging.load
    WHERE status IN ('loaded', 'rejected')
    GROUP BY drop_id
), validations AS (
    SELECT source_id, extract_date, bool_and(success) AS validation_success, max(data_docs_uri) AS data_docs_uri
    FROM audit.validation
    GROUP BY source_id, extract_date
), late AS (
    SELECT DISTINCT source_id, extract_date FROM audit.alert WHERE kind = 'late_drop'
)
SELECT n.night,
       s.source_id,
       CASE WHEN d.status = 'loaded' AND ld.drop_id IS NULL THEN 'unchanged'  -- its files were loaded before
            WHEN d.status IS NOT NULL THEN d.status
            WHEN l.source_id IS NOT NULL THEN 'late'
            ELSE 'no drop' END AS drop_status,
       ld.rows_received::integer AS rows_received,
       ld.rows_loaded::integer AS rows_loaded,
       ld.rows_quarantined::integer AS rows_quarantined,
       v.validation_success,
       v.data_docs_uri,
       l.source_id IS NOT NULL AS late
FROM nights n
CROSS JOIN sources s
LEFT JOIN last_drop d ON d.source_id = s.source_id AND d.extract_date = n.night
LEFT JOIN loads ld ON ld.drop_id = d.drop_id
LEFT JOIN validations v ON v.source_id = s.source_id AND v.extract_date = n.night
LEFT JOIN late l ON l.source_id = s.source_id AND l.extract_date = n.night;

COMMENT ON VIEW marts.source_quality IS 'Per night and source: drop status (loaded, unchanged, rejected, held, received, late, no drop), rows received, loaded and quarantined, validation verdict, Data Docs page. Counts only, no personal data.';
GRANT SELECT ON marts.source_quality TO hq_analyst;
"""


def upgrade() -> None:
    op.execute(SOURCE_QUALITY_VIEW)


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS marts.source_quality")
