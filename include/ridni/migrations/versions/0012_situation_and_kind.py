"""Decisions in two steps, situation then kind, and the review each person waits for.

Revision ID: 0012
Revises: 0010
Create Date: 2026-11-30

A person's category is decided in two steps (docs/domain.md): the situation (held, returned, found
alive, deceased, missing), then inside "held" the kind. ``core.person_status`` keeps both steps' rule and
record, and which review the person waits for: ``kind`` (two specific kinds of held of one date and rank
disagree) or ``situation`` (two situations of one date and rank disagree), with the two records that
disagree. ``core.evidence`` says which evidence is generic (says only "held"). The reconciliation counts
as disagreeing only evidence that does not support the decided category. ``marts.headline`` counts, per
headline group, the persons waiting for each kind of review.
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# core.person_explanation: a person's current status beside every linked record and its evidence
EXPLAINED = """
    FROM core.person_status s
    JOIN core.person_link l ON l.person_id = s.person_id
    JOIN core.source_record r ON r.source_id = l.source_id AND r.record_key = l.record_key
    LEFT JOIN core.evidence e ON e.person_id = l.person_id AND e.source_id = l.source_id
                             AND e.record_key = l.record_key
    WHERE s.valid_to IS NULL;
"""
EXPLANATION_0002 = """
    CREATE VIEW core.person_explanation AS
    SELECT s.person_id, s.category, s.person_type, s.icrc_confirmed, s.rule AS decision_rule,
           s.valid_from AS decided_on, s.needs_review,
           l.source_id, l.record_key, l.rule AS link_rule, l.match_probability, l.explanation AS link_explanation,
           r.withdrawn_on, r.withdrawn_reason, r.status AS source_status,
           e.category AS evidence_category, e.effective_date, e.authority,
           (l.source_id = s.evidence_source_id AND l.record_key = s.evidence_record_key) AS decisive,
           (l.source_id = s.conflict_source_id AND l.record_key = s.conflict_record_key) AS in_conflict
""" + EXPLAINED


def upgrade() -> None:
    op.execute("""
    DROP VIEW core.person_explanation;
    ALTER TABLE core.person_status RENAME COLUMN conflict_source_id TO conflict_rival_source_id;
    ALTER TABLE core.person_status RENAME COLUMN conflict_record_key TO conflict_rival_record_key;
    ALTER TABLE core.person_status
        ADD COLUMN situation text,
        ADD COLUMN kind_rule text,
        ADD COLUMN kind_source_id text,
        ADD COLUMN kind_record_key text,
        ADD COLUMN kind_date date,
        ADD COLUMN review text CHECK (review IN ('kind', 'situation')),
        ADD COLUMN conflict_lead_source_id text,
        ADD COLUMN conflict_lead_record_key text;
    -- what the warehouse decided before: its situation, and its review (a conflict of situations then)
    UPDATE core.person_status SET
        situation = CASE WHEN category IN ('captive_pow', 'civilian_detained', 'enforced_disappearance',
                                           'illegally_convicted', 'deported_child') THEN 'held' ELSE category END,
        review = CASE WHEN needs_review THEN 'situation' END;
    ALTER TABLE core.person_status ADD CHECK (needs_review = (review IS NOT NULL));

    ALTER TABLE core.evidence ADD COLUMN generic boolean NOT NULL DEFAULT false;
    ALTER TABLE core.reconciliation_person ADD COLUMN supports boolean;
    UPDATE core.reconciliation_person SET supports = category IS NOT DISTINCT FROM decided;
    ALTER TABLE core.reconciliation_person ALTER COLUMN supports SET NOT NULL;

    -- persons of each headline group waiting for a review of their kind, or of their situation
    -- (NULL where the count is below the publication threshold)
    ALTER TABLE marts.headline ADD COLUMN kind_review integer, ADD COLUMN situation_review integer;

    -- One query explains a person's current category: every linked record, how it was linked, what
    -- evidence it gives, which record decided the situation and which the kind, and the records in conflict.
    CREATE VIEW core.person_explanation AS
    SELECT s.person_id, s.category, s.situation, s.person_type, s.icrc_confirmed, s.rule AS decision_rule,
           s.kind_rule, s.valid_from AS decided_on, s.needs_review, s.review,
           l.source_id, l.record_key, l.rule AS link_rule, l.match_probability, l.explanation AS link_explanation,
           r.withdrawn_on, r.withdrawn_reason, r.status AS source_status,
           e.category AS evidence_category, e.generic, e.effective_date, e.authority,
           COALESCE(l.source_id = s.evidence_source_id AND l.record_key = s.evidence_record_key, false) AS decisive,
           COALESCE(l.source_id = s.kind_source_id AND l.record_key = s.kind_record_key, false) AS decides_kind,
           COALESCE((l.source_id = s.conflict_lead_source_id AND l.record_key = s.conflict_lead_record_key)
                    OR (l.source_id = s.conflict_rival_source_id AND l.record_key = s.conflict_rival_record_key),
                    false) AS in_conflict
    """ + EXPLAINED)  # noqa: S608 (our own query text)


def downgrade() -> None:
    op.execute("""
    DROP VIEW core.person_explanation;
    ALTER TABLE marts.headline DROP COLUMN kind_review, DROP COLUMN situation_review;
    ALTER TABLE core.reconciliation_person DROP COLUMN supports;
    ALTER TABLE core.evidence DROP COLUMN generic;
    ALTER TABLE core.person_status
        DROP COLUMN situation, DROP COLUMN kind_rule, DROP COLUMN kind_source_id, DROP COLUMN kind_record_key,
        DROP COLUMN kind_date, DROP COLUMN review, DROP COLUMN conflict_lead_source_id,
        DROP COLUMN conflict_lead_record_key;
    ALTER TABLE core.person_status RENAME COLUMN conflict_rival_source_id TO conflict_source_id;
    ALTER TABLE core.person_status RENAME COLUMN conflict_rival_record_key TO conflict_record_key;
    """ + EXPLANATION_0002)
