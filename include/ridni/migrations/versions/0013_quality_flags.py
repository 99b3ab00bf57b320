"""Records loaded with their disagreements flagged; the features linkage gained.

Revision ID: 0013
Revises: 0010
Create Date: 2026-12-03

A typo is not a reason to lose a person: a record whose RNOKPP is malformed, fails its check digit,
or encodes another birth date or sex than the record states is loaded, and ``quality_flags`` names
the disagreements (``ridni.ingest.validate.FLAGS``) on the staged row, the source record and each of
its versions. ``marts.source_quality`` counts the flagged rows of each source's night.

Linkage compares the birth date the RNOKPP encodes and who the source says the person is
(``core.link_record.rnokpp_birth_date``, ``person_type``), weighs exact name matches by the
names' frequencies at training (``core.linkage_model.term_frequencies``), and blocks records without
a patronymic on surname and birth year (an index of its own). The link tables are derived
data: emptied here, they are rebuilt in full by the next night, whose model is trained anew (a model
without the new comparisons is not used).
"""

from alembic import op

revision = "0013"
down_revision = "0010"
branch_labels = None
depends_on = None

FLAGGED_TABLES = ("staging.record", "core.source_record", "core.source_record_version")

# marts.source_quality as migration 0005 made it, with rows_flagged added at the end.
SOURCE_QUALITY_VIEW = """
CREATE OR REPLACE VIEW marts.source_quality AS
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
    SELECT source_id, extract_date, bool_and(success) AS validation_success, max(data_docs_uri) AS data_docs_uri,
           sum(COALESCE((summary ->> 'rows_flagged')::integer, 0)) AS rows_flagged
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
       l.source_id IS NOT NULL AS late,
       CASE WHEN ld.drop_id IS NOT NULL THEN v.rows_flagged::integer END AS rows_flagged
FROM nights n
CROSS JOIN sources s
LEFT JOIN last_drop d ON d.source_id = s.source_id AND d.extract_date = n.night
LEFT JOIN loads ld ON ld.drop_id = d.drop_id
LEFT JOIN validations v ON v.source_id = s.source_id AND v.extract_date = n.night
LEFT JOIN late l ON l.source_id = s.source_id AND l.extract_date = n.night;

COMMENT ON VIEW marts.source_quality IS 'Per night and source: drop status (loaded, unchanged, rejected, held, received, late, no drop), rows received, loaded and quarantined, validation verdict, Data Docs page, rows loaded with a disagreement flagged (quality_flags). Counts only, no personal data.';
"""


def upgrade() -> None:
    for table in FLAGGED_TABLES:
        op.execute(f"ALTER TABLE {table} ADD COLUMN quality_flags text[] NOT NULL DEFAULT '{{}}'")
    op.execute(SOURCE_QUALITY_VIEW)
    op.execute("TRUNCATE core.link_record, core.link_edge")
    op.execute("ALTER TABLE core.link_record ADD COLUMN rnokpp_birth_date text, ADD COLUMN person_type text")
    # the blocking rule for records without a patronymic (ridni.linkage.model.BLOCKING_KEYS_IF_MISSING)
    op.execute("CREATE INDEX link_record_surname_birth_year ON core.link_record (surname_key, birth_year)")
    op.execute("ALTER TABLE core.linkage_model ADD COLUMN term_frequencies jsonb NOT NULL DEFAULT '{}'::jsonb")


def downgrade() -> None:
    op.execute("ALTER TABLE core.linkage_model DROP COLUMN term_frequencies")
    op.execute("TRUNCATE core.link_record, core.link_edge")
    op.execute("DROP INDEX core.link_record_surname_birth_year")
    op.execute("ALTER TABLE core.link_record DROP COLUMN rnokpp_birth_date, DROP COLUMN person_type")
    # a view loses a column only by being made again: migration 0005's definition
    op.execute("DROP VIEW marts.source_quality")
    op.execute(_view_of_0005())
    for table in FLAGGED_TABLES:
        op.execute(f"ALTER TABLE {table} DROP COLUMN quality_flags")


def _view_of_0005() -> str:
    import importlib.util
    from pathlib import Path

    path = Path(__file__).with_name("0005_source_quality.py")
    spec = importlib.util.spec_from_file_location("ridni_migration_0005", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.SOURCE_QUALITY_VIEW
