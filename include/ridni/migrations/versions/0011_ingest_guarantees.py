"""Ingestion guarantees: drops identified by their whole content, held withdrawals, snapshots reloaded.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03

- ``raw.drop.content_sha256``: a digest of the manifest's and every file's sha256 with their names. A drop
  is one delivery of that content: the same folder changed after it was loaded is a new drop (refused or
  loaded on its own), never a relabelling of the one that was loaded.
- ``staging.load``: a file's content may be loaded again (a snapshot that returns to an earlier state);
  the code decides when, against the source's latest load.
- ``core.withdrawal_hold`` and ``core.withdrawal_hold_key``: the withdrawals of a snapshot that would
  withdraw more than the contract's share of the source's standing records, kept until an operator
  confirms them (or a later snapshot supersedes them).
- ``marts.source_quality``: the night's loaded drop rather than a later refused re-delivery, the status
  ``withdrawals held`` and the count of held withdrawals.
"""

import importlib.util
from pathlib import Path

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# manifest.json first, then each file of the drop by name: "name<TAB>sha256<LF>" (no sha: not delivered)
CONTENT_DIGEST = """
    encode(sha256(convert_to(
        'manifest.json' || E'\\t' || coalesce(d.manifest_sha256, '') || E'\\n' ||
        coalesce((SELECT string_agg(f.file_name || E'\\t' || coalesce(f.sha256, '') || E'\\n', ''
                                    ORDER BY f.file_name COLLATE "C")
                  FROM raw.drop_file f WHERE f.drop_id = d.drop_id), ''),
        'UTF8')), 'hex')
"""

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
    -- the night's loaded drop when there is one (a later refused re-delivery is alerted, not shown as the night)
    SELECT DISTINCT ON (source_id, extract_date) drop_id, source_id, extract_date, status
    FROM raw.drop
    ORDER BY source_id, extract_date, status = 'loaded' DESC, drop_id DESC
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
), held AS (
    SELECT drop_id, sum(records) AS records FROM core.withdrawal_hold WHERE status = 'held' GROUP BY drop_id
)
SELECT n.night,
       s.source_id,
       CASE WHEN h.drop_id IS NOT NULL THEN 'withdrawals held'
            WHEN d.status = 'loaded' AND ld.drop_id IS NULL THEN 'unchanged'  -- its files were loaded before
            WHEN d.status IS NOT NULL THEN d.status
            WHEN l.source_id IS NOT NULL THEN 'late'
            ELSE 'no drop' END AS drop_status,
       ld.rows_received::integer AS rows_received,
       ld.rows_loaded::integer AS rows_loaded,
       ld.rows_quarantined::integer AS rows_quarantined,
       v.validation_success,
       v.data_docs_uri,
       l.source_id IS NOT NULL AS late,
       coalesce(h.records, 0)::integer AS withdrawals_held
FROM nights n
CROSS JOIN sources s
LEFT JOIN last_drop d ON d.source_id = s.source_id AND d.extract_date = n.night
LEFT JOIN loads ld ON ld.drop_id = d.drop_id
LEFT JOIN validations v ON v.source_id = s.source_id AND v.extract_date = n.night
LEFT JOIN late l ON l.source_id = s.source_id AND l.extract_date = n.night
LEFT JOIN held h ON h.drop_id = d.drop_id;

COMMENT ON VIEW marts.source_quality IS 'Per night and source: drop status (loaded, unchanged, withdrawals held, rejected, held, received, late, no drop), rows received, loaded and quarantined, validation verdict, Data Docs page, and the withdrawals held until an operator confirms them. Counts only, no personal data.';
GRANT SELECT ON marts.source_quality TO hq_analyst;
"""


def upgrade() -> None:
    op.execute("ALTER TABLE raw.drop ADD COLUMN content_sha256 text")
    op.execute(f"UPDATE raw.drop d SET content_sha256 = {CONTENT_DIGEST}")  # noqa: S608 (our own SQL)
    op.execute("ALTER TABLE raw.drop DROP CONSTRAINT drop_source_id_extract_date_manifest_sha256_key")
    op.execute("CREATE UNIQUE INDEX drop_once_per_content ON raw.drop (source_id, extract_date, content_sha256)")

    op.execute("DROP INDEX staging.load_once_per_file")
    op.execute("CREATE INDEX load_by_sha256 ON staging.load (sha256) WHERE status = 'loaded'")
    op.execute("CREATE INDEX load_by_source ON staging.load (source_id, load_id) WHERE status = 'loaded'")

    op.execute("""
    CREATE TABLE core.withdrawal_hold (
        hold_id bigserial PRIMARY KEY,
        source_id text NOT NULL,
        extract_date date NOT NULL,
        drop_id bigint NOT NULL REFERENCES raw.drop,
        load_id bigint NOT NULL REFERENCES staging.load,   -- the load whose snapshot left the records out
        standing integer NOT NULL,                          -- the source's standing records before it
        records integer NOT NULL,                           -- how many it would withdraw
        max_share numeric NOT NULL,                         -- the contract's limit when it was held
        status text NOT NULL DEFAULT 'held' CHECK (status IN ('held', 'confirmed', 'superseded')),
        decided_at timestamptz,
        decided_by text,
        created_at timestamptz NOT NULL DEFAULT now()
    );
    -- at most one pending hold per source: a later snapshot supersedes it
    CREATE UNIQUE INDEX withdrawal_hold_pending ON core.withdrawal_hold (source_id) WHERE status = 'held';
    CREATE TABLE core.withdrawal_hold_key (
        hold_id bigint NOT NULL REFERENCES core.withdrawal_hold,
        record_key text NOT NULL,
        PRIMARY KEY (hold_id, record_key)
    );
    COMMENT ON TABLE core.withdrawal_hold IS 'Withdrawals of a full snapshot above the contract''s share of the source''s standing records: not applied until an operator confirms them (ridni confirm-withdrawals, or the ingest DAG''s confirm_withdrawals param).';
    """)
    op.execute(SOURCE_QUALITY_VIEW)


def _view_of_0005() -> str:
    path = Path(__file__).with_name("0005_source_quality.py")
    spec = importlib.util.spec_from_file_location("ridni_migration_0005", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.SOURCE_QUALITY_VIEW


def downgrade() -> None:
    op.execute("DROP VIEW marts.source_quality")
    op.execute(_view_of_0005())
    op.execute("DROP TABLE core.withdrawal_hold_key")
    op.execute("DROP TABLE core.withdrawal_hold")
    op.execute("DROP INDEX staging.load_by_source")
    op.execute("DROP INDEX staging.load_by_sha256")
    op.execute("CREATE UNIQUE INDEX load_once_per_file ON staging.load (sha256) WHERE status = 'loaded'")
    op.execute("DROP INDEX raw.drop_once_per_content")
    op.execute("ALTER TABLE raw.drop DROP COLUMN content_sha256")
    op.execute("ALTER TABLE raw.drop ADD CONSTRAINT drop_source_id_extract_date_manifest_sha256_key "
               "UNIQUE (source_id, extract_date, manifest_sha256)")
