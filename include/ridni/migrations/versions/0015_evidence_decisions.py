"""Evidence decisions bind the decision step: what the officer saw is kept, and the status names the decision.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03

A case officer settles a person's category conflict by naming the record that stands, or by setting
the conflicting records aside ("all wrong"). The decision binds later nights until the person has
evidence the officer did not see. For that, ``core.record_review_decision`` (same signature, same
grant: the reviewer's one door) now keeps, with an evidence decision, the person's standing evidence
as it was shown (``evidence_seen``: ``[[source_id, record_key], ...]``) and refuses a "stands" naming a
record that is not among it. ``core.person_status.review_decision_id`` names the evidence decision a
status follows; ``marts.change_log.review`` takes ``evidence`` for the moves such a decision caused.
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

ROLE = "case_officer_reviewer"
RECORD_ARGS = "text, bigint, text, text, text, jsonb, text, text, text"

RECORD_FUNCTION = """
    CREATE OR REPLACE FUNCTION core.record_review_decision(
        p_kind text, p_subject bigint, p_decision text, p_version text, p_decided_by text,
        p_shown jsonb DEFAULT '{}'::jsonb, p_note text DEFAULT NULL,
        p_evidence_source_id text DEFAULT NULL, p_evidence_record_key text DEFAULT NULL)
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    DECLARE
        current_version text;
        previous bigint;
        recorded bigint;
        seen jsonb;
    BEGIN
        -- one decision at a time per subject: two officers deciding the same subject queue up here
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
        IF p_kind = 'evidence' THEN
            -- the evidence the officer saw (the version proves it is the person's evidence now)
            SELECT jsonb_agg(jsonb_build_array(e.source_id, e.record_key) ORDER BY e.source_id, e.record_key)
            INTO seen FROM core.evidence e WHERE e.person_id = p_subject;
            IF p_decision = 'stands' AND p_evidence_source_id IS NOT NULL AND NOT seen @> jsonb_build_array(
                    jsonb_build_array(p_evidence_source_id, p_evidence_record_key)) THEN
                RAISE EXCEPTION 'record %/% is not evidence of person %', p_evidence_source_id,
                    p_evidence_record_key, p_subject USING ERRCODE = '22023';
            END IF;
        END IF;
        INSERT INTO core.review_decision (kind, pair_id, person_id, evidence_source_id, evidence_record_key,
                                          decision, version, shown, note, decided_by, supersedes, evidence_seen)
        VALUES (p_kind, CASE WHEN p_kind = 'pair' THEN p_subject END,
                CASE WHEN p_kind = 'evidence' THEN p_subject END, p_evidence_source_id, p_evidence_record_key,
                p_decision, p_version, COALESCE(p_shown, '{}'::jsonb), NULLIF(btrim(p_note), ''), p_decided_by,
                previous, seen)
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
"""


def upgrade() -> None:
    op.execute(f"""
    ALTER TABLE core.review_decision ADD COLUMN evidence_seen jsonb
        CHECK (kind = 'evidence' OR evidence_seen IS NULL);
    ALTER TABLE core.person_status ADD COLUMN review_decision_id bigint;
    ALTER TABLE marts.change_log DROP CONSTRAINT change_log_review_check;
    ALTER TABLE marts.change_log ADD CONSTRAINT change_log_review_check
        CHECK (review IN ('same', 'different', 'evidence'));
    {RECORD_FUNCTION}
    REVOKE ALL ON FUNCTION core.record_review_decision({RECORD_ARGS}) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION core.record_review_decision({RECORD_ARGS}) TO {ROLE};
    """)  # noqa: S608 (our own constants only)


def downgrade() -> None:
    # the door as before, but for the evidence it keeps (its check of a "stands" record does no harm)
    previous = RECORD_FUNCTION.replace(
        ", supersedes, evidence_seen)", ", supersedes)").replace("previous, seen)", "previous)")
    op.execute(f"""
    {previous}
    ALTER TABLE marts.change_log DROP CONSTRAINT change_log_review_check;
    UPDATE marts.change_log SET review = NULL WHERE review = 'evidence';
    ALTER TABLE marts.change_log ADD CONSTRAINT change_log_review_check CHECK (review IN ('same', 'different'));
    ALTER TABLE core.person_status DROP COLUMN review_decision_id;
    ALTER TABLE core.review_decision DROP COLUMN evidence_seen;
    """)  # noqa: S608 (our own constants only)
