"""The index of each source's latest full snapshot: its clean lines' digests and their records' keys.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03

``staging.snapshot_lines``: one row per snapshot source, replaced in the transaction of each snapshot
load (``ridni.ingest.snapshot_lines``). The next night's snapshot parses and validates only the lines
not in it. Bounded: one row per source, never a row per night.
"""

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    CREATE TABLE staging.snapshot_lines (
        source_id text PRIMARY KEY,
        load_id bigint NOT NULL REFERENCES staging.load,
        sha256 text NOT NULL,
        fingerprint text NOT NULL,
        header_digest bytea NOT NULL,
        line_count integer NOT NULL,
        lines bytea NOT NULL,
        saved_at timestamptz NOT NULL DEFAULT now()
    );
    COMMENT ON TABLE staging.snapshot_lines IS 'Per snapshot source, the clean lines of its latest loaded snapshot (BLAKE2b-128 digests and record keys, Arrow IPC): tonight''s lines found here are unchanged and not parsed again.';
    GRANT SELECT, INSERT, UPDATE, DELETE ON staging.snapshot_lines TO ridni_writer;
    """)


def downgrade() -> None:
    op.execute("DROP TABLE staging.snapshot_lines")
