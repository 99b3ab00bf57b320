"""What headquarters reads: counts by night, headline groups, the change log, the reconciliation.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    -- Counts by category x person type x region x sex x age band, per night. count_value is NULL
    -- where suppressed (below the threshold, or a complement so that totals cannot reveal it).
    CREATE TABLE marts.category_counts (
        night date NOT NULL,
        category text NOT NULL,
        person_type text NOT NULL,
        region text NOT NULL,
        sex text NOT NULL,
        age_band text NOT NULL,
        count_value integer,
        suppressed boolean NOT NULL,
        suppression text,
        PRIMARY KEY (night, category, person_type, region, sex, age_band)
    );

    CREATE TABLE marts.category_totals (
        night date NOT NULL,
        category text NOT NULL,
        count_value integer,
        suppressed boolean NOT NULL,
        PRIMARY KEY (night, category)
    );

    CREATE TABLE marts.headline (
        night date NOT NULL,
        ord integer NOT NULL,
        grp text NOT NULL,
        count_value integer,
        previous_value integer,
        change integer,
        PRIMARY KEY (night, grp)
    );

    -- One row per person per change; persons only by pseudonymous id.
    CREATE TABLE marts.change_log (
        night date NOT NULL,
        pseudo_id text NOT NULL,
        change text NOT NULL,
        from_category text,
        to_category text,
        effective_date date,
        evidence_source text,
        evidence_record text,
        rule text,
        dag_run_id text,
        PRIMARY KEY (night, pseudo_id, change)
    );

    CREATE TABLE marts.reconciliation (
        night date NOT NULL,
        source_id text NOT NULL,
        category text NOT NULL,
        source_count integer NOT NULL,
        warehouse_count integer NOT NULL,
        only_in_source integer NOT NULL,
        disagreeing integer NOT NULL,
        PRIMARY KEY (night, source_id, category)
    );

    CREATE TABLE marts.review_queue_size (
        night date PRIMARY KEY,
        linkage_pairs integer NOT NULL,
        category_conflicts integer NOT NULL
    );

    CREATE TABLE audit.publication (
        night date NOT NULL,
        dag_run_id text,
        folder text NOT NULL,
        manifest jsonb NOT NULL,
        published_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (night, folder)
    );
    """)


def downgrade() -> None:
    op.execute("""
    DROP TABLE audit.publication;
    DROP TABLE marts.review_queue_size;
    DROP TABLE marts.reconciliation;
    DROP TABLE marts.change_log;
    DROP TABLE marts.headline;
    DROP TABLE marts.category_totals;
    DROP TABLE marts.category_counts;
    """)
