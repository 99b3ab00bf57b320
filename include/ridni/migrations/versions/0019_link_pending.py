"""Records waiting for linkage: queued by the loads that change them, taken by the next resolution.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03

An incremental night found its new and changed records by comparing every source record's hash with
the hash its matching features were built from (``core.link_record``): a join of two tables of a
million rows each, 0.7 to 2.3 seconds every night whatever the night changed. Now every statement that
inserts a source record, or changes its hash, queues its key in ``core.link_pending`` (statement-level
triggers, so every writer is covered, in the writer's own transaction). ``resolve_persons`` takes the
queue (``DELETE ... RETURNING``) and reads only those records; a load that commits while it runs
leaves its keys for the next resolution, so nothing is missed however the DAGs interleave.

Existing warehouses: the keys the old comparison would find tonight are queued here once.
"""

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    -- no key and no index: a full night queues every record at bulk-load speed; readers take DISTINCT
    CREATE TABLE core.link_pending (
        source_id text NOT NULL,
        record_key text NOT NULL
    );
    COMMENT ON TABLE core.link_pending IS 'Source records inserted or changed (row_hash) since the last person resolution took them: the next resolution links only these.';
    GRANT SELECT, INSERT, DELETE, TRUNCATE ON core.link_pending TO ridni_writer;

    CREATE FUNCTION core.queue_inserted_records() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO core.link_pending (source_id, record_key) SELECT source_id, record_key FROM inserted;
        RETURN NULL;
    END $$;
    CREATE FUNCTION core.queue_changed_records() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO core.link_pending (source_id, record_key)
        SELECT n.source_id, n.record_key FROM updated n JOIN before_update o USING (source_id, record_key)
        WHERE n.row_hash IS DISTINCT FROM o.row_hash;
        RETURN NULL;
    END $$;
    CREATE TRIGGER source_record_queue_inserted AFTER INSERT ON core.source_record
        REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION core.queue_inserted_records();
    CREATE TRIGGER source_record_queue_changed AFTER UPDATE ON core.source_record
        REFERENCING OLD TABLE AS before_update NEW TABLE AS updated
        FOR EACH STATEMENT EXECUTE FUNCTION core.queue_changed_records();

    -- what the old comparison would have found tonight (a warehouse never linked is linked in full anyway)
    INSERT INTO core.link_pending (source_id, record_key)
    SELECT s.source_id, s.record_key FROM core.source_record s
    LEFT JOIN core.link_record f ON f.source_id = s.source_id AND f.record_key = s.record_key
    WHERE EXISTS (SELECT 1 FROM core.link_record) AND (f.record_id IS NULL OR f.row_hash <> s.row_hash);
    """)


def downgrade() -> None:
    op.execute("""
    DROP TRIGGER source_record_queue_changed ON core.source_record;
    DROP TRIGGER source_record_queue_inserted ON core.source_record;
    DROP FUNCTION core.queue_changed_records();
    DROP FUNCTION core.queue_inserted_records();
    DROP TABLE core.link_pending;
    """)
