"""The warehouse layers and the ingestion tables.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

LAYERS = ("raw", "staging", "quarantine", "core", "marts", "audit")

# The canonical source record (docs/ARCHITECTURE.md); staging and core share it.
CANONICAL_COLUMNS = """
    surname text, first_name text, patronymic text, full_name text,
    birth_date text, sex text, rnokpp text, service_no text, person_type text,
    status text, status_date date, region text, disappeared_on date, registered_on date,
    appeal_refs text, op text, changed_at timestamptz,
    attributes jsonb NOT NULL DEFAULT '{}'::jsonb,
    row_hash text NOT NULL
"""


def upgrade() -> None:
    for layer in LAYERS:
        op.execute(f"CREATE SCHEMA IF NOT EXISTS {layer}")

    op.execute("""
    CREATE TABLE audit.run (
        run_id bigserial PRIMARY KEY,
        dag_id text NOT NULL,
        dag_run_id text NOT NULL,
        task_id text,
        source_id text,
        extract_date date,
        started_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz,
        status text NOT NULL DEFAULT 'running',
        detail jsonb NOT NULL DEFAULT '{}'::jsonb
    );

    CREATE TABLE raw.drop (
        drop_id bigserial PRIMARY KEY,
        source_id text NOT NULL,
        extract_date date NOT NULL,
        landing_uri text NOT NULL,
        manifest jsonb,
        manifest_sha256 text,
        seq integer,
        status text NOT NULL CHECK (status IN ('received', 'rejected', 'loaded', 'held')),
        reason text,
        received_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz,
        UNIQUE (source_id, extract_date, manifest_sha256)
    );

    CREATE TABLE raw.file (
        sha256 text PRIMARY KEY,
        size_bytes bigint NOT NULL,
        archive_uri text NOT NULL,
        first_name_received text NOT NULL,
        archived_at timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE raw.drop_file (
        drop_id bigint NOT NULL REFERENCES raw.drop,
        file_name text NOT NULL,
        sha256 text REFERENCES raw.file,
        declared_sha256 text,
        declared_rows integer,
        PRIMARY KEY (drop_id, file_name)
    );

    CREATE TABLE staging.load (
        load_id bigserial PRIMARY KEY,
        drop_id bigint NOT NULL REFERENCES raw.drop,
        source_id text NOT NULL,
        extract_date date NOT NULL,
        file_name text NOT NULL,
        sha256 text NOT NULL REFERENCES raw.file,
        rows_received integer,
        rows_loaded integer,
        rows_quarantined integer,
        status text NOT NULL CHECK (status IN ('running', 'loaded', 'rejected', 'skipped_duplicate')),
        reason text,
        dag_run_id text,
        started_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz,
        CHECK (status <> 'loaded' OR rows_received = rows_loaded + rows_quarantined)
    );
    -- A file's content is loaded at most once, whatever its name.
    CREATE UNIQUE INDEX load_once_per_file ON staging.load (sha256) WHERE status = 'loaded';
    """)
    op.execute(f"""
    CREATE TABLE staging.record (
        load_id bigint NOT NULL REFERENCES staging.load ON DELETE CASCADE,
        line_no integer NOT NULL,
        record_key text NOT NULL,
        {CANONICAL_COLUMNS},
        PRIMARY KEY (load_id, line_no)
    );

    CREATE TABLE core.source_record (
        source_id text NOT NULL,
        record_key text NOT NULL,
        {CANONICAL_COLUMNS},
        first_seen_on date NOT NULL,
        last_seen_on date NOT NULL,
        withdrawn_on date,
        withdrawn_reason text,
        last_load_id bigint NOT NULL REFERENCES staging.load,
        PRIMARY KEY (source_id, record_key)
    );

    -- Every version a source ever sent of a record; nothing here is updated or deleted.
    CREATE TABLE core.source_record_version (
        source_id text NOT NULL,
        record_key text NOT NULL,
        valid_from date NOT NULL,
        load_id bigint NOT NULL REFERENCES staging.load,
        change text NOT NULL CHECK (change IN ('new', 'changed', 'withdrawn', 'reinstated')),
        {CANONICAL_COLUMNS},
        PRIMARY KEY (source_id, record_key, load_id)
    );
    """)
    op.execute("""
    CREATE TABLE core.delta_applied (
        source_id text NOT NULL,
        seq integer NOT NULL,
        drop_id bigint NOT NULL REFERENCES raw.drop,
        applied_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (source_id, seq)
    );

    CREATE TABLE quarantine.rejected_drop (
        id bigserial PRIMARY KEY,
        source_id text NOT NULL,
        extract_date date NOT NULL,
        drop_id bigint REFERENCES raw.drop,
        file_name text,
        line_no integer,
        reason text NOT NULL,
        dag_run_id text,
        at timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE quarantine.rejected_row (
        id bigserial PRIMARY KEY,
        load_id bigint NOT NULL REFERENCES staging.load,
        source_id text NOT NULL,
        file_name text NOT NULL,
        sha256 text NOT NULL,
        line_no integer NOT NULL,
        reasons text[] NOT NULL,
        record jsonb,
        at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (load_id, line_no)
    );

    CREATE TABLE audit.validation (
        id bigserial PRIMARY KEY,
        load_id bigint REFERENCES staging.load,
        source_id text NOT NULL,
        extract_date date NOT NULL,
        file_name text,
        suite text NOT NULL,
        success boolean NOT NULL,
        rows_evaluated integer,
        rows_failed integer,
        summary jsonb NOT NULL,
        data_docs_uri text,
        dag_run_id text,
        at timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE audit.alert (
        id bigserial PRIMARY KEY,
        kind text NOT NULL,
        severity text NOT NULL CHECK (severity IN ('info', 'warning', 'error')),
        source_id text,
        extract_date date,
        message text NOT NULL,
        rows_affected integer,
        quarantine_ref text,
        channels text[] NOT NULL DEFAULT '{}',
        dag_id text,
        dag_run_id text,
        at timestamptz NOT NULL DEFAULT now()
    );
    """)


def downgrade() -> None:
    for layer in reversed(LAYERS):
        op.execute(f"DROP SCHEMA IF EXISTS {layer} CASCADE")
