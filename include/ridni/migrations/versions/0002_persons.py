"""Persons: links of source records to persons, the review queue, merges and splits, evidence and status.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    CREATE TABLE core.person (
        person_id bigint PRIMARY KEY,
        created_on date NOT NULL,
        merged_into bigint REFERENCES core.person,
        retired_on date
    );
    CREATE SEQUENCE core.person_id_seq OWNED BY core.person.person_id;

    -- Which person each source record belongs to, and why (one rule or one match weight).
    CREATE TABLE core.person_link (
        source_id text NOT NULL,
        record_key text NOT NULL,
        person_id bigint NOT NULL REFERENCES core.person,
        rule text NOT NULL,
        match_probability double precision,
        match_weight double precision,
        explanation jsonb NOT NULL DEFAULT '{}'::jsonb,
        linked_on date NOT NULL,
        dag_run_id text,
        PRIMARY KEY (source_id, record_key),
        FOREIGN KEY (source_id, record_key) REFERENCES core.source_record
    );
    CREATE INDEX person_link_person ON core.person_link (person_id);

    -- Pairs between the thresholds wait here for a reviewer; a decision binds every later run.
    CREATE TABLE core.review_pair (
        pair_id bigserial PRIMARY KEY,
        left_source_id text NOT NULL,
        left_record_key text NOT NULL,
        right_source_id text NOT NULL,
        right_record_key text NOT NULL,
        match_probability double precision NOT NULL,
        match_weight double precision,
        comparison jsonb NOT NULL DEFAULT '{}'::jsonb,
        decision text CHECK (decision IN ('same', 'different')),
        decided_by text,
        decided_at timestamptz,
        first_queued_on date NOT NULL,
        last_seen_on date NOT NULL,
        UNIQUE (left_source_id, left_record_key, right_source_id, right_record_key),
        CHECK ((left_source_id, left_record_key) < (right_source_id, right_record_key))
    );

    -- Merges and splits of persons between runs.
    CREATE TABLE core.person_event (
        id bigserial PRIMARY KEY,
        night date NOT NULL,
        kind text NOT NULL CHECK (kind IN ('new', 'merge', 'split', 'retired')),
        person_id bigint NOT NULL,
        other_person_id bigint,
        records integer,
        detail jsonb NOT NULL DEFAULT '{}'::jsonb,
        dag_run_id text,
        UNIQUE (night, kind, person_id, other_person_id)
    );

    -- The person's current evidence: one row per standing linked record.
    CREATE TABLE core.evidence (
        person_id bigint NOT NULL,
        source_id text NOT NULL,
        record_key text NOT NULL,
        category text NOT NULL,
        effective_date date,
        authority integer NOT NULL,
        night date NOT NULL,
        PRIMARY KEY (person_id, source_id, record_key)
    );

    -- SCD type 2: the category of every person on any past date.
    CREATE TABLE core.person_status (
        person_id bigint NOT NULL,
        valid_from date NOT NULL,
        valid_to date,
        category text,
        person_type text,
        icrc_confirmed boolean NOT NULL DEFAULT false,
        region text,
        sex text,
        birth_year integer,
        rule text NOT NULL,
        evidence_source_id text,
        evidence_record_key text,
        effective_date date,
        needs_review boolean NOT NULL DEFAULT false,
        conflict_source_id text,
        conflict_record_key text,
        dag_run_id text,
        PRIMARY KEY (person_id, valid_from)
    );
    CREATE UNIQUE INDEX person_status_current ON core.person_status (person_id) WHERE valid_to IS NULL;

    -- One query explains a person's current category: every linked record, how it was linked,
    -- what evidence it gives, and which record and rule decided.
    CREATE VIEW core.person_explanation AS
    SELECT s.person_id, s.category, s.person_type, s.icrc_confirmed, s.rule AS decision_rule,
           s.valid_from AS decided_on, s.needs_review,
           l.source_id, l.record_key, l.rule AS link_rule, l.match_probability, l.explanation AS link_explanation,
           r.withdrawn_on, r.withdrawn_reason, r.status AS source_status,
           e.category AS evidence_category, e.effective_date, e.authority,
           (l.source_id = s.evidence_source_id AND l.record_key = s.evidence_record_key) AS decisive,
           (l.source_id = s.conflict_source_id AND l.record_key = s.conflict_record_key) AS in_conflict
    FROM core.person_status s
    JOIN core.person_link l ON l.person_id = s.person_id
    JOIN core.source_record r ON r.source_id = l.source_id AND r.record_key = l.record_key
    LEFT JOIN core.evidence e ON e.person_id = l.person_id AND e.source_id = l.source_id
                             AND e.record_key = l.record_key
    WHERE s.valid_to IS NULL;
    """)


def downgrade() -> None:
    op.execute("""
    DROP VIEW core.person_explanation;
    DROP TABLE core.person_status;
    DROP TABLE core.evidence;
    DROP TABLE core.person_event;
    DROP TABLE core.review_pair;
    DROP TABLE core.person_link;
    DROP TABLE core.person;
    """)
