"""Review decisions: an append-only record, written only through one function (the review page's door).

Revision ID: 0014
Revises: 0010
Create Date: 2026-12-03

``core.review_decision`` keeps every decision a case officer made, of both kinds: on a record pair of
the linkage's review band (``kind = 'pair'``: same / different / not sure) and on a person's
conflicting evidence (``kind = 'evidence'``: which record stands, none of them, not sure). A decision is
never changed: a newer one on the same subject supersedes it, and both stay.

The only way in is ``core.record_review_decision``, a ``SECURITY DEFINER`` function (fixed
``search_path``) that the group role ``case_officer_reviewer`` may execute; that role reads ``core``
like ``case_officer`` and can write nothing else. The function refuses a decision taken on a stale view
(the subject's version, ``core.review_pair_version`` / ``core.review_evidence_version``, differs from
the one shown) and keeps ``core.review_pair.decision`` equal to the latest pair decision, which the
linkage reads. ``marts.change_log.review`` marks the moves a reviewer's decision caused.
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

ROLE = "case_officer_reviewer"
RECORD_ARGS = "text, bigint, text, text, text, jsonb, text, text, text"


def upgrade() -> None:
    op.execute(f"""
    DO $$ BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{ROLE}') THEN
            CREATE ROLE {ROLE} NOLOGIN;
        END IF;
    END $$;
    GRANT case_officer TO {ROLE};

    CREATE TABLE core.review_decision (
        decision_id bigserial PRIMARY KEY,
        kind text NOT NULL CHECK (kind IN ('pair', 'evidence')),
        pair_id bigint REFERENCES core.review_pair,        -- kind 'pair'
        person_id bigint,                                  -- kind 'evidence': the person whose evidence conflicts
        evidence_source_id text,                           -- kind 'evidence', decision 'stands': the record that stands
        evidence_record_key text,
        decision text NOT NULL,
        version text NOT NULL,                             -- the subject's version the officer saw
        shown jsonb NOT NULL DEFAULT '{{}}'::jsonb,         -- what the page showed (ids, levels, effect; no names)
        note text CHECK (length(note) <= 2000),
        decided_by text NOT NULL CHECK (decided_by <> ''),  -- the Airflow user
        login text NOT NULL DEFAULT session_user,          -- the database login that recorded it
        decided_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        supersedes bigint REFERENCES core.review_decision,
        CHECK ((kind = 'pair' AND pair_id IS NOT NULL AND person_id IS NULL AND evidence_source_id IS NULL
                AND decision IN ('same', 'different', 'not_sure'))
            OR (kind = 'evidence' AND person_id IS NOT NULL AND pair_id IS NULL
                AND decision IN ('stands', 'all_wrong', 'not_sure')
                AND (decision = 'stands') = (evidence_source_id IS NOT NULL AND evidence_record_key IS NOT NULL)))
    );
    CREATE INDEX review_decision_pair ON core.review_decision (pair_id, decision_id) WHERE kind = 'pair';
    CREATE INDEX review_decision_person ON core.review_decision (person_id, decision_id) WHERE kind = 'evidence';
    CREATE INDEX review_decision_at ON core.review_decision (decided_at);

    -- Readers may read it; nobody but the owner may change or remove a decision.
    REVOKE ALL ON core.review_decision FROM PUBLIC, ridni_writer;
    REVOKE ALL ON SEQUENCE core.review_decision_decision_id_seq FROM PUBLIC, ridni_writer;
    GRANT SELECT ON core.review_decision TO ridni_writer, case_officer;

    -- What a pair decision is taken on: the pair's scores, both records' versions, the persons they are
    -- linked to and their categories, and the pair's latest decision. Any change makes a shown view stale.
    CREATE FUNCTION core.review_pair_version(p_pair_id bigint) RETURNS text
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
        SELECT md5(concat_ws('|', p.match_probability, p.match_weight, p.comparison::text, p.last_seen_on,
                             ra.row_hash, ra.withdrawn_on, rb.row_hash, rb.withdrawn_on,
                             la.person_id, sa.category, lb.person_id, sb.category,
                             (SELECT max(d.decision_id) FROM core.review_decision d
                              WHERE d.kind = 'pair' AND d.pair_id = p.pair_id)))
        FROM core.review_pair p
        LEFT JOIN core.source_record ra ON ra.source_id = p.left_source_id AND ra.record_key = p.left_record_key
        LEFT JOIN core.source_record rb ON rb.source_id = p.right_source_id AND rb.record_key = p.right_record_key
        LEFT JOIN core.person_link la ON la.source_id = p.left_source_id AND la.record_key = p.left_record_key
        LEFT JOIN core.person_link lb ON lb.source_id = p.right_source_id AND lb.record_key = p.right_record_key
        LEFT JOIN core.person_status sa ON sa.person_id = la.person_id AND sa.valid_to IS NULL
        LEFT JOIN core.person_status sb ON sb.person_id = lb.person_id AND sb.valid_to IS NULL
        WHERE p.pair_id = p_pair_id
    $$;

    -- What an evidence decision is taken on: the person's standing evidence, current status and latest
    -- evidence decision. New evidence makes the view (and a decision taken on it) out of date.
    CREATE FUNCTION core.review_evidence_version(p_person_id bigint) RETURNS text
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
        SELECT md5(concat_ws('|',
            (SELECT string_agg(concat_ws(',', e.source_id, e.record_key, e.category, e.effective_date), ';'
                               ORDER BY e.source_id, e.record_key)
             FROM core.evidence e WHERE e.person_id = p_person_id),
            (SELECT concat_ws(',', s.category, s.rule, s.valid_from) FROM core.person_status s
             WHERE s.person_id = p_person_id AND s.valid_to IS NULL),
            (SELECT max(d.decision_id) FROM core.review_decision d
             WHERE d.kind = 'evidence' AND d.person_id = p_person_id)))
    $$;

    -- The door. Records one decision taken on the view of version p_version, or refuses it: SQLSTATE RV001
    -- when the subject changed since it was shown, P0002 when there is no such subject.
    CREATE FUNCTION core.record_review_decision(
        p_kind text, p_subject bigint, p_decision text, p_version text, p_decided_by text,
        p_shown jsonb DEFAULT '{{}}'::jsonb, p_note text DEFAULT NULL,
        p_evidence_source_id text DEFAULT NULL, p_evidence_record_key text DEFAULT NULL)
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    DECLARE
        current_version text;
        previous bigint;
        recorded bigint;
    BEGIN
        -- one decision at a time per subject: two officers deciding the same pair queue up here
        PERFORM pg_advisory_xact_lock(hashtextextended(p_kind || ':' || p_subject, 0));
        IF p_kind = 'pair' THEN
            current_version := core.review_pair_version(p_subject);
            SELECT max(decision_id) INTO previous FROM core.review_decision
            WHERE kind = 'pair' AND pair_id = p_subject;
        ELSIF p_kind = 'evidence' THEN
            IF NOT EXISTS (SELECT FROM core.evidence WHERE person_id = p_subject) THEN
                current_version := NULL;
            ELSE
                current_version := core.review_evidence_version(p_subject);
            END IF;
            SELECT max(decision_id) INTO previous FROM core.review_decision
            WHERE kind = 'evidence' AND person_id = p_subject;
        ELSE
            RAISE EXCEPTION 'no such kind of review decision: %', p_kind USING ERRCODE = '22023';
        END IF;
        IF current_version IS NULL THEN
            RAISE EXCEPTION 'no % % to decide', p_kind, p_subject USING ERRCODE = 'P0002';
        END IF;
        IF current_version IS DISTINCT FROM p_version THEN
            RAISE EXCEPTION 'stale view: % % changed since it was shown', p_kind, p_subject
                USING ERRCODE = 'RV001', HINT = 'open it again and decide on what it shows now';
        END IF;
        INSERT INTO core.review_decision (kind, pair_id, person_id, evidence_source_id, evidence_record_key,
                                          decision, version, shown, note, decided_by, supersedes)
        VALUES (p_kind, CASE WHEN p_kind = 'pair' THEN p_subject END,
                CASE WHEN p_kind = 'evidence' THEN p_subject END, p_evidence_source_id, p_evidence_record_key,
                p_decision, p_version, COALESCE(p_shown, '{{}}'::jsonb), NULLIF(btrim(p_note), ''), p_decided_by,
                previous)
        RETURNING decision_id INTO recorded;
        IF p_kind = 'pair' THEN
            -- the linkage reads the pair's standing decision here; "not sure" leaves it undecided
            UPDATE core.review_pair
            SET decision = CASE WHEN p_decision IN ('same', 'different') THEN p_decision END,
                decided_by = p_decided_by, decided_at = clock_timestamp()
            WHERE pair_id = p_subject;
        END IF;
        RETURN recorded;
    END $$;

    REVOKE ALL ON FUNCTION core.record_review_decision({RECORD_ARGS}) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION core.record_review_decision({RECORD_ARGS}) TO {ROLE};
    REVOKE ALL ON FUNCTION core.review_pair_version(bigint), core.review_evidence_version(bigint) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION core.review_pair_version(bigint), core.review_evidence_version(bigint)
        TO case_officer, ridni_writer;

    -- The change log names the moves a reviewer's decision caused ('same': a merge; 'different': a split).
    ALTER TABLE marts.change_log ADD COLUMN review text CHECK (review IN ('same', 'different'));
    """)  # noqa: S608 (our own constants only)


def downgrade() -> None:
    op.execute(f"""
    ALTER TABLE marts.change_log DROP COLUMN review;
    DROP FUNCTION core.record_review_decision({RECORD_ARGS});
    DROP FUNCTION core.review_evidence_version(bigint);
    DROP FUNCTION core.review_pair_version(bigint);
    DROP TABLE core.review_decision;
    REVOKE case_officer FROM {ROLE};
    """)
