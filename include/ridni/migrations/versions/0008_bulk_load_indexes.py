"""Bulk loads build indexes and check keys once, after the load, instead of row by row.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29

A full night writes every record's features, every link, every person link and every piece of
evidence afresh (about a million rows each at the benchmark's scale). PostgreSQL maintains each
index and checks each foreign key row by row during a COPY; building the index and checking the key
once afterwards costs a fraction of that. Dropping and creating indexes needs the table's owner, and
the writer role owns nothing, so the owner lends exactly this operation through two functions:

- ``core.defer_indexes(table)`` saves the table's indexes and key constraints (their definitions as
  PostgreSQL prints them) in ``core.deferred_ddl`` and drops them;
- ``core.restore_indexes(table)`` creates what was saved, validates the keys, analyses the table and
  forgets the saved definitions.

Only the four bulk-loaded tables are accepted. The saved definitions are readable and writable by
the owner alone (the writer could otherwise plant DDL for the owner to run). Both calls belong to
one transaction: a failure rolls the drops back with the load, and a commit with definitions still
saved (an indexless table) is refused by a deferred constraint trigger.
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

BULK_LOADED = ("core.link_record", "core.link_edge", "core.person_link", "core.evidence")
READERS = ("ridni_writer", "hq_analyst", "case_officer", "auditor")


def upgrade() -> None:
    accepted = ", ".join(f"'{t}'::regclass" for t in BULK_LOADED)
    op.execute("""
    CREATE TABLE core.deferred_ddl (
        table_name text NOT NULL,
        object_name text NOT NULL,
        kind text NOT NULL CHECK (kind IN ('key', 'index', 'foreign_key')),
        definition text NOT NULL,
        PRIMARY KEY (table_name, object_name)
    )""")
    # default privileges of the schema would let the writer write here: take them back
    op.execute(f"REVOKE ALL ON core.deferred_ddl FROM PUBLIC, {', '.join(READERS)}")
    op.execute(f"""
    CREATE FUNCTION core.defer_indexes(target regclass) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    DECLARE
        item record;
        n integer := 0;
    BEGIN
        IF target NOT IN ({accepted}) THEN
            RAISE EXCEPTION 'core.defer_indexes: % is not a bulk-loaded table', target;
        END IF;
        -- foreign keys first; then keys no other table's foreign key depends on; then plain indexes
        FOR item IN
            SELECT c.conname AS name, pg_get_constraintdef(c.oid) AS def,
                   CASE c.contype WHEN 'f' THEN 'foreign_key' ELSE 'key' END AS kind
            FROM pg_constraint c
            WHERE c.conrelid = target AND c.contype IN ('f', 'p', 'u')
              AND NOT EXISTS (SELECT 1 FROM pg_constraint r WHERE r.contype = 'f' AND r.confrelid = target
                              AND r.conindid = c.conindid)
            ORDER BY c.contype = 'f' DESC, c.conname
        LOOP
            INSERT INTO core.deferred_ddl VALUES (target::text, item.name, item.kind, item.def);
            EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', target, item.name);
            n := n + 1;
        END LOOP;
        FOR item IN
            SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS def
            FROM pg_index i
            WHERE i.indrelid = target
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
        LOOP
            INSERT INTO core.deferred_ddl VALUES (target::text, item.name, 'index', item.def);
            EXECUTE format('DROP INDEX %s', item.name);
            n := n + 1;
        END LOOP;
        RETURN n;
    END $$""")  # noqa: S608 (the table names are this file's constants)
    op.execute("""
    CREATE FUNCTION core.restore_indexes(target regclass) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    DECLARE
        item record;
        n integer := 0;
    BEGIN
        -- index builds sort in memory up to this (the default 64 MB spills a million keys to disk)
        PERFORM set_config('maintenance_work_mem', '512MB', true);
        FOR item IN
            SELECT object_name, kind, definition FROM core.deferred_ddl WHERE table_name = target::text
            ORDER BY CASE kind WHEN 'key' THEN 0 WHEN 'index' THEN 1 ELSE 2 END, object_name
        LOOP
            IF item.kind = 'index' THEN
                EXECUTE item.definition;
            ELSE
                EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I %s', target, item.object_name, item.definition);
            END IF;
            n := n + 1;
        END LOOP;
        DELETE FROM core.deferred_ddl WHERE table_name = target::text;
        EXECUTE format('ANALYZE %s', target);
        RETURN n;
    END $$""")
    op.execute("""
    CREATE FUNCTION core.deferred_ddl_restored() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    BEGIN
        IF EXISTS (SELECT 1 FROM core.deferred_ddl WHERE table_name = NEW.table_name) THEN
            RAISE EXCEPTION 'indexes of % deferred but not restored: commit refused', NEW.table_name;
        END IF;
        RETURN NULL;
    END $$""")
    op.execute("""
    CREATE CONSTRAINT TRIGGER deferred_ddl_restored AFTER INSERT ON core.deferred_ddl
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION core.deferred_ddl_restored()""")
    for fn in ("defer_indexes", "restore_indexes"):
        op.execute(f"REVOKE ALL ON FUNCTION core.{fn}(regclass) FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION core.{fn}(regclass) TO ridni_writer")


def downgrade() -> None:
    op.execute("DROP TABLE core.deferred_ddl")
    op.execute("DROP FUNCTION core.deferred_ddl_restored()")
    op.execute("DROP FUNCTION core.restore_indexes(regclass)")
    op.execute("DROP FUNCTION core.defer_indexes(regclass)")
