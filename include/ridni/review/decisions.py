"""Recording review decisions through the warehouse's one door, and reading them back.

Every decision goes through ``core.record_review_decision`` (migration 0014): the caller passes the
version of the subject it showed, and the function refuses the decision when the subject changed since
(:class:`StaleView`). Decisions are never changed; a newer one on the same subject supersedes the last.
"""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

# What an officer may decide, per kind of subject ("evidence": which of a person's conflicting records stands).
DECISIONS = {
    "pair": ("same", "different", "not_sure"),
    "evidence": ("stands", "all_wrong", "not_sure"),
}
STALE = "RV001"  # SQLSTATE of a decision taken on a stale view
NOT_FOUND = "P0002"


class StaleView(Exception):
    """The subject changed since it was shown: nothing was recorded."""


class NoSuchSubject(LookupError):
    """No pair (or no person with evidence) of that id."""


def pair_version(conn: Connection, pair_id: int) -> str | None:
    """The pair's current version (None: no such pair); a decision must name the version it was taken on."""
    return conn.execute(sa.text("SELECT core.review_pair_version(:p)"), {"p": pair_id}).scalar()


def record(conn: Connection, *, kind: str, subject: int, decision: str, version: str, by: str,
           shown: dict | None = None, note: str | None = None,
           evidence: tuple[str, str] | None = None) -> int:
    """Record one decision (in the caller's transaction); returns its id.

    ``subject`` is the pair id (kind ``pair``) or the person id (kind ``evidence``); ``evidence`` the
    (source_id, record_key) that stands. Raises :class:`StaleView` or :class:`NoSuchSubject`.
    """
    if decision not in DECISIONS.get(kind, ()):
        raise ValueError(f"not a {kind} decision: {decision!r}")
    if not by:
        raise ValueError("a decision needs the name of who took it")
    source_id, record_key = evidence or (None, None)
    try:
        with conn.begin_nested():
            return conn.execute(sa.text(
                "SELECT core.record_review_decision(:kind, :subject, :decision, :version, :by, "
                "CAST(:shown AS jsonb), :note, :source_id, :record_key)"),
                {"kind": kind, "subject": subject, "decision": decision, "version": version, "by": by,
                 "shown": json.dumps(shown or {}, sort_keys=True, default=str), "note": note,
                 "source_id": source_id, "record_key": record_key}).scalar_one()
    except sa.exc.DBAPIError as exc:
        code = getattr(exc.orig, "pgcode", None)
        if code == STALE:
            raise StaleView(f"{kind} {subject} changed since it was shown; nothing was recorded") from None
        if code == NOT_FOUND:
            raise NoSuchSubject(f"no {kind} {subject}") from None
        raise


def pair_history(conn: Connection, pair_id: int) -> pd.DataFrame:
    """Every decision on the pair, newest first."""
    return pd.read_sql(sa.text(
        "SELECT decision_id, decision, decided_by, decided_at, note, supersedes FROM core.review_decision "
        "WHERE kind = 'pair' AND pair_id = :p ORDER BY decision_id DESC"), conn, params={"p": pair_id})


def decisions_per_day(conn: Connection, days: int = 7, today: dt.date | None = None) -> pd.DataFrame:
    """Decisions of the last ``days`` days per day and decision (day, decision, n), newest day first."""
    today = today or dt.date.today()
    return pd.read_sql(sa.text("""
        SELECT (decided_at AT TIME ZONE 'Europe/Kyiv')::date AS day, decision, count(*) AS n
        FROM core.review_decision
        WHERE decided_at >= CAST(:since AS date)
        GROUP BY 1, 2 ORDER BY 1 DESC, 2
    """), conn, params={"since": today - dt.timedelta(days=days - 1)})


def recent(conn: Connection, by: str | None = None, limit: int = 10) -> pd.DataFrame:
    """The latest decisions (of one officer when ``by`` is given), newest first."""
    return pd.read_sql(sa.text("""
        SELECT decision_id, kind, pair_id, person_id, decision, decided_by, decided_at
        FROM core.review_decision WHERE CAST(:by AS text) IS NULL OR decided_by = :by
        ORDER BY decision_id DESC LIMIT :limit
    """), conn, params={"by": by, "limit": limit})


# Decisions that shaped a person: on a pair with one of the person's records, or on the person's evidence.
PERSON_DECISIONS_SQL = """
    SELECT d.decision_id, d.kind, d.decision, d.decided_by, d.decided_at, d.note, d.supersedes, d.shown,
           d.pair_id, p.left_source_id || '/' || p.left_record_key AS left_record,
           p.right_source_id || '/' || p.right_record_key AS right_record,
           d.evidence_source_id || '/' || d.evidence_record_key AS evidence_record,
           NOT EXISTS (SELECT 1 FROM core.review_decision n WHERE n.supersedes = d.decision_id) AS standing
    FROM core.review_decision d
    LEFT JOIN core.review_pair p ON p.pair_id = d.pair_id
    WHERE (d.kind = 'evidence' AND d.person_id = :person)
       OR (d.kind = 'pair' AND EXISTS (
            SELECT 1 FROM core.person_link l WHERE l.person_id = :person
            AND ((l.source_id, l.record_key) = (p.left_source_id, p.left_record_key)
                 OR (l.source_id, l.record_key) = (p.right_source_id, p.right_record_key))))
    ORDER BY d.decision_id
"""


def for_person(conn: Connection, person_id: int) -> pd.DataFrame:
    """Every decision that shaped a person (standing: not superseded by a newer one), oldest first."""
    return pd.read_sql(sa.text(PERSON_DECISIONS_SQL), conn, params={"person": person_id})


def _shown_conflict(shown) -> str:
    """What the conflict page showed, in one line: the conflict, each record's effect, "all wrong"'s."""
    shown = shown if isinstance(shown, dict) else json.loads(shown or "{}")
    choices = shown.get("choices") or []
    if not choices:
        return ""
    effects = "; ".join(f"{'/'.join(map(str, c['record']))} ({c.get('category')}) -> {c.get('result')}"
                        for c in choices)
    return (f"\n      shown: {shown.get('conflict')} conflict of {shown.get('category')} (rule {shown.get('rule')}): "
            f"{effects}; all wrong -> {shown.get('all_wrong_result')}")


def explain_lines(conn: Connection, person_id: int) -> list[str]:
    """``ridni explain``'s lines about the reviewers' decisions on the person: who, when, on what, what the
    page showed of an evidence decision, and the one the person's category follows now."""
    rows = for_person(conn, person_id)
    follows = conn.execute(sa.text(
        "SELECT review_decision_id FROM core.person_status WHERE person_id = :p AND valid_to IS NULL"),
        {"p": person_id}).scalar()
    lines = ["reviewers' decisions:" if len(rows) else "reviewers' decisions: none"]
    if follows is not None:
        lines.append(f"  the category follows evidence decision #{follows} (until the person has evidence it did "
                     f"not see)")
    for r in rows.itertuples(index=False):
        subject = (f"pair {r.pair_id} ({r.left_record} ~ {r.right_record})" if r.kind == "pair"
                   else f"evidence {r.evidence_record or '(none stands)'}")
        state = "standing" if r.standing else "superseded"
        note = f', note: "{r.note}"' if isinstance(r.note, str) and r.note else ""
        shown = _shown_conflict(r.shown) if r.kind == "evidence" else ""
        lines.append(f"  #{r.decision_id} {r.decided_at:%Y-%m-%d %H:%M} {r.decided_by}: {r.decision} on {subject} "
                     f"[{state}]{note}{shown}")
    return lines


# Persons whose moves tonight a reviewer's decision caused: a person with a record linked tonight by a
# "same" decision and the persons merged into it, either side of a split that a standing "different"
# decision separates, or a person whose status follows tonight an evidence decision it did not follow before.
REVIEWED_MOVES_SQL = """
    WITH joined AS (SELECT DISTINCT person_id FROM core.person_link WHERE rule = 'review_same' AND linked_on = :n)
    SELECT DISTINCT ON (person_id) person_id, review FROM (
        SELECT person_id, 'same' AS review, 0 AS o FROM joined
        UNION ALL
        SELECT e.other_person_id, 'same', 0 FROM core.person_event e JOIN joined j USING (person_id)
        WHERE e.night = :n AND e.kind = 'merge'
        UNION ALL
        SELECT unnest(ARRAY[e.person_id, e.other_person_id]), 'different', 1
        FROM core.person_event e
        JOIN core.person_link a ON a.person_id IN (e.person_id, e.other_person_id)
        JOIN core.review_pair p ON p.decision = 'different'
             AND (a.source_id, a.record_key) IN ((p.left_source_id, p.left_record_key),
                                                 (p.right_source_id, p.right_record_key))
        JOIN core.person_link b ON b.person_id IN (e.person_id, e.other_person_id) AND b.person_id <> a.person_id
             AND (b.source_id, b.record_key) IN ((p.left_source_id, p.left_record_key),
                                                 (p.right_source_id, p.right_record_key))
        WHERE e.night = :n AND e.kind = 'split'
        UNION ALL
        SELECT s.person_id, 'evidence', 2 FROM core.person_status s
        LEFT JOIN core.person_status p ON p.person_id = s.person_id AND p.valid_to = s.valid_from
        WHERE s.valid_from = :n AND s.review_decision_id IS NOT NULL
          AND s.review_decision_id IS DISTINCT FROM p.review_decision_id
    ) m ORDER BY person_id, o
"""


def reviewed_moves(conn: Connection, night: dt.date) -> pd.Series:
    """person_id -> 'same' | 'different' | 'evidence': whose moves on ``night`` a reviewer's decision caused."""
    rows = pd.read_sql(sa.text(REVIEWED_MOVES_SQL), conn, params={"n": night})
    return rows.set_index("person_id")["review"]
