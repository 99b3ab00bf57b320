"""Incremental nights: each record's matching features, links as edges, the trained model, decided nights.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29

``core.link_record`` keeps the standardised features of every source record with a stable
``record_id`` and the ``row_hash`` they were built from, so a night re-standardises only records whose
hash changed. ``core.link_edge`` keeps every link between two records (deterministic rule or Splink
match above the upper threshold); a night replaces only the edges of changed records, and persons
are re-clustered only where an edge changed. ``core.linkage_model`` keeps the trained Splink model
(its settings JSON with m and u probabilities), so a night scores new pairs without retraining.
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    -- Derived data, rebuilt by a full night: unlogged (no WAL, so a million rows load fast). After a
    -- crash PostgreSQL empties it, and the next night sees that and runs in full.
    CREATE UNLOGGED TABLE core.link_record (
        record_id bigserial PRIMARY KEY,
        source_id text NOT NULL,
        record_key text NOT NULL,
        row_hash text NOT NULL,
        surname_key text, first_key text, first_lat text, patronymic_key text, patronymic_lat text,
        birth_date text, birth_year integer, birth_month integer, birth_day integer, birth_precision text,
        sex text, region text, rnokpp text, service_no text, appeal_refs text,
        appeal_ref text[],
        UNIQUE (source_id, record_key)
    );
    -- one index per blocking rule prefix and deterministic key: tonight's changed records find their
    -- candidate partners by index, not by reading the whole table
    CREATE INDEX link_record_surname_first ON core.link_record (surname_key, first_key, birth_year);
    CREATE INDEX link_record_first_patronymic ON core.link_record (first_key, patronymic_key, birth_year);
    CREATE INDEX link_record_surname_patronymic ON core.link_record (surname_key, patronymic_key, birth_year);
    CREATE INDEX link_record_birth_date ON core.link_record (birth_date);
    CREATE INDEX link_record_rnokpp ON core.link_record (rnokpp) WHERE rnokpp IS NOT NULL;
    CREATE INDEX link_record_service_no ON core.link_record (service_no) WHERE service_no IS NOT NULL;
    -- a small pending list: a full night's bulk insert is flushed as it goes, so a lookup never scans
    -- a quarter of a million pending entries
    CREATE INDEX link_record_appeal_ref ON core.link_record USING gin (appeal_ref)
        WITH (gin_pending_list_limit = 256) WHERE appeal_ref IS NOT NULL;

    -- A link between two records (l < r): a deterministic rule, or a Splink match at or above the upper
    -- threshold. Reviewers' decisions live in core.review_pair and are applied when clustering.
    CREATE UNLOGGED TABLE core.link_edge (
        l bigint NOT NULL,
        r bigint NOT NULL,
        rule text NOT NULL,
        match_probability double precision,
        match_weight double precision,
        explanation jsonb NOT NULL DEFAULT '{}'::jsonb,
        night date NOT NULL,
        CHECK (l < r)
    );
    CREATE INDEX link_edge_l ON core.link_edge (l);
    CREATE INDEX link_edge_r ON core.link_edge (r);

    -- Nights decided, so the next night decides again only the persons whose evidence or links moved.
    CREATE TABLE core.decision_run (
        night date PRIMARY KEY,
        mode text NOT NULL CHECK (mode IN ('full', 'incremental')),
        persons integer NOT NULL,
        changed integer NOT NULL,
        dag_run_id text,
        at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX source_record_version_valid_from ON core.source_record_version (valid_from);
    CREATE INDEX person_link_linked_on ON core.person_link (linked_on);

    -- The trained Splink model; the newest one scores every night until the next retraining.
    CREATE TABLE core.linkage_model (
        model_id bigserial PRIMARY KEY,
        trained_on date NOT NULL,
        records integer NOT NULL,
        settings jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
    );
    """)


def downgrade() -> None:
    op.execute("""
    DROP TABLE core.linkage_model;
    DROP INDEX core.person_link_linked_on;
    DROP INDEX core.source_record_version_valid_from;
    DROP TABLE core.decision_run;
    DROP TABLE core.link_edge;
    DROP TABLE core.link_record;
    """)
