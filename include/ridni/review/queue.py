"""The review queue: undecided record pairs and persons with conflicting evidence, ordered by what
deciding them would change.

Order: first what would move a person out of ``missing`` (a pair whose one side's person is missing and
the other's confirmed), then what would change a headline group (a pair joining persons of two groups; a
conflict one of whose records would put the person in another group than now), then the rest; within
each, the least certain first: a pair nearest the middle of the review band, a conflict (evidence of equal
weight) as the least certain of all. What an officer marked "not sure" goes behind everything nobody has
looked at, the least recently skipped first. One set-based query (20,000 pairs: milliseconds), paged by
LIMIT/OFFSET.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, fields

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ridni.publish.marts import HEADLINE

PER_PAGE = 50
KINDS = ("pair", "conflict")  # a record pair of the review band; a person's category conflict
# impact classes, most urgent first
OUT_OF_MISSING, HEADLINE_GROUP, OTHER = 0, 1, 2
IMPACTS = {OUT_OF_MISSING: "out_of_missing", HEADLINE_GROUP: "headline_group", OTHER: "other"}


@dataclass(frozen=True)
class QueueFilter:
    source: str | None = None  # either record's source
    region: str | None = None  # either record's region (ISO 3166-2:UA)
    kind: str | None = None  # pair | conflict; None: both
    min_nights: int | None = None  # in the queue at least this many nights

    def params(self) -> dict[str, str]:
        """The filter as query parameters (only those set)."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value not in (None, "", f.default):
                out[f.name] = str(value)
        return out


@functools.cache
def band_middle() -> float:
    """The middle of the linkage's review band (imported when first needed: the linkage loads Splink)."""
    from ridni.linkage.run import LOWER, UPPER

    return (LOWER + UPPER) / 2


def headline_groups() -> tuple[list[str], list[str]]:
    """(categories, their headline group): a category outside every group is a group of its own."""
    from ridni.decide.rules import CATEGORIES

    group = {c: name for name, cats in HEADLINE if cats for c in cats}
    categories = list(CATEGORIES)
    return categories, [group.get(c, c) for c in categories]


# A conflict an officer settled (a record stands, or all are wrong) after the last decision step ran leaves
# the queue at once: the next night applies the decision. One the decision step leaves waiting after it
# (evidence the officer did not see arrived) is back.
SETTLED_SINCE_LAST_RUN = """
    EXISTS (SELECT 1 FROM core.review_decision d
            WHERE d.kind = 'evidence' AND d.person_id = s.person_id AND d.decision IN ('stands', 'all_wrong')
              AND d.decided_at > (SELECT at FROM core.decision_run ORDER BY night DESC LIMIT 1)
              AND d.decision_id = (SELECT max(x.decision_id) FROM core.review_decision x
                                   WHERE x.kind = 'evidence' AND x.person_id = s.person_id))
"""

QUEUE_SQL = f"""
WITH today AS (SELECT COALESCE((SELECT max(night) FROM core.decision_run), current_date) AS night),
groups AS (SELECT * FROM unnest(CAST(:categories AS text[]), CAST(:groups AS text[])) AS g(category, grp)),
pairs AS (
    SELECT 'pair' AS kind, p.pair_id AS subject_id, p.pair_id, CAST(NULL AS bigint) AS person_id,
           p.left_source_id, p.left_record_key, p.right_source_id, p.right_record_key,
           p.match_probability, p.match_weight, p.first_queued_on,
           (SELECT night FROM today) - p.first_queued_on AS nights,
           fa.region AS left_region, fb.region AS right_region,
           la.person_id AS left_person, lb.person_id AS right_person,
           sa.category AS left_category, sb.category AS right_category,
           CAST(NULL AS text) AS category, CAST(NULL AS text) AS review,
           (SELECT max(d.decided_at) FROM core.review_decision d
            WHERE d.kind = 'pair' AND d.pair_id = p.pair_id) AS skipped_at
    FROM core.review_pair p
    LEFT JOIN core.link_record fa ON fa.source_id = p.left_source_id AND fa.record_key = p.left_record_key
    LEFT JOIN core.link_record fb ON fb.source_id = p.right_source_id AND fb.record_key = p.right_record_key
    LEFT JOIN core.person_link la ON la.source_id = p.left_source_id AND la.record_key = p.left_record_key
    LEFT JOIN core.person_link lb ON lb.source_id = p.right_source_id AND lb.record_key = p.right_record_key
    LEFT JOIN core.person_status sa ON sa.person_id = la.person_id AND sa.valid_to IS NULL
    LEFT JOIN core.person_status sb ON sb.person_id = lb.person_id AND sb.valid_to IS NULL
    WHERE p.decision IS NULL AND COALESCE(CAST(:kind AS text), 'pair') = 'pair'
      AND (CAST(:source AS text) IS NULL OR :source IN (p.left_source_id, p.right_source_id))
      AND (CAST(:region AS text) IS NULL OR :region IN (fa.region, fb.region))
      AND (CAST(:min_nights AS integer) IS NULL
           OR p.first_queued_on <= (SELECT night FROM today) - CAST(:min_nights AS integer))
),
-- a conflict waits since the person's last status without a review (or their first status)
conflict_status AS (
    SELECT s.*, COALESCE(
               (SELECT max(x.valid_to) FROM core.person_status x
                WHERE x.person_id = s.person_id AND x.review IS NULL AND x.valid_to IS NOT NULL),
               (SELECT min(x.valid_from) FROM core.person_status x WHERE x.person_id = s.person_id)) AS since
    FROM core.person_status s
    WHERE s.valid_to IS NULL AND s.review IS NOT NULL AND COALESCE(CAST(:kind AS text), 'conflict') = 'conflict'
      AND NOT {SETTLED_SINCE_LAST_RUN}
      AND (CAST(:source AS text) IS NULL OR :source IN (s.conflict_lead_source_id, s.conflict_rival_source_id))
      AND (CAST(:region AS text) IS NULL OR :region = s.region)
),
conflicts AS (
    SELECT 'conflict', s.person_id, CAST(NULL AS bigint), s.person_id,
           s.conflict_lead_source_id, s.conflict_lead_record_key, s.conflict_rival_source_id,
           s.conflict_rival_record_key, CAST(NULL AS double precision), CAST(NULL AS double precision), s.since,
           (SELECT night FROM today) - s.since, s.region, s.region, s.person_id, s.person_id,
           el.category, er.category, s.category, s.review,
           (SELECT CASE WHEN d.decision = 'not_sure' THEN d.decided_at END FROM core.review_decision d
            WHERE d.kind = 'evidence' AND d.person_id = s.person_id ORDER BY d.decision_id DESC LIMIT 1)
    FROM conflict_status s
    LEFT JOIN core.evidence el ON el.person_id = s.person_id AND el.source_id = s.conflict_lead_source_id
                              AND el.record_key = s.conflict_lead_record_key
    LEFT JOIN core.evidence er ON er.person_id = s.person_id AND er.source_id = s.conflict_rival_source_id
                              AND er.record_key = s.conflict_rival_record_key
    WHERE CAST(:min_nights AS integer) IS NULL
       OR s.since <= (SELECT night FROM today) - CAST(:min_nights AS integer)
),
q AS (SELECT * FROM pairs UNION ALL SELECT * FROM conflicts)
SELECT q.*,
       CASE WHEN q.kind = 'conflict' THEN
                CASE WHEN q.category = 'missing' AND 'missing' <> ALL (ARRAY[q.left_category, q.right_category])
                          THEN {OUT_OF_MISSING}
                     WHEN gc.grp IS DISTINCT FROM ga.grp OR gc.grp IS DISTINCT FROM gb.grp THEN {HEADLINE_GROUP}
                     ELSE {OTHER} END
            WHEN q.left_person IS NOT DISTINCT FROM q.right_person THEN {OTHER}
            WHEN (q.left_category = 'missing') <> (q.right_category = 'missing') THEN {OUT_OF_MISSING}
            WHEN ga.grp IS DISTINCT FROM gb.grp THEN {HEADLINE_GROUP}
            ELSE {OTHER} END AS impact,
       count(*) OVER () AS total
FROM q
LEFT JOIN groups ga ON ga.category = q.left_category
LEFT JOIN groups gb ON gb.category = q.right_category
LEFT JOIN groups gc ON gc.category = q.category
ORDER BY q.skipped_at NULLS FIRST, impact, COALESCE(abs(q.match_probability - :middle), 0), q.kind,
         q.subject_id
LIMIT :limit OFFSET :offset
"""  # noqa: S608 (our own constants only)


@dataclass(frozen=True)
class QueuePage:
    rows: pd.DataFrame  # QUEUE_SQL's columns, in queue order
    total: int  # pairs and conflicts matching the filter
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def queue_page(conn: Connection, flt: QueueFilter = QueueFilter(), page: int = 1,
               per_page: int = PER_PAGE) -> QueuePage:
    """One page of the queue (``page`` from 1) under the filter."""
    if flt.kind is not None and flt.kind not in KINDS:
        return QueuePage(pd.DataFrame(), 0, 1, per_page)
    categories, groups = headline_groups()
    page = max(1, page)
    rows = pd.read_sql(sa.text(QUEUE_SQL), conn, params={
        "categories": categories, "groups": groups, "kind": flt.kind, "source": flt.source or None, "region": flt.region or None,
        "min_nights": flt.min_nights, "middle": band_middle(), "limit": per_page, "offset": (page - 1) * per_page})
    total = int(rows["total"].iloc[0]) if len(rows) else 0
    if not len(rows) and page > 1:  # past the end: the total all the same
        total = queue_page(conn, flt, 1, 1).total
    rows = rows.drop(columns="total").astype({"subject_id": "int64", "pair_id": "Int64", "person_id": "Int64"})
    return QueuePage(rows, total, page, per_page)


def next_item(conn: Connection, flt: QueueFilter = QueueFilter()) -> tuple[str, int] | None:
    """The head of the queue under the filter: (``pair``, pair id) or (``conflict``, person id); None:
    nothing left."""
    rows = queue_page(conn, flt, 1, 1).rows
    return (str(rows["kind"].iloc[0]), int(rows["subject_id"].iloc[0])) if len(rows) else None


def next_pair(conn: Connection, flt: QueueFilter = QueueFilter()) -> int | None:
    """The pair at the head of the pairs' queue under the filter (None: nothing left)."""
    head = next_item(conn, QueueFilter(flt.source, flt.region, "pair", flt.min_nights))
    return head[1] if head else None


def sizes(conn: Connection) -> dict[str, int]:
    """How many wait, per kind: undecided pairs, and persons whose evidence conflicts and is not settled."""
    pairs = conn.execute(sa.text("SELECT count(*) FROM core.review_pair WHERE decision IS NULL")).scalar()
    conflicts = conn.execute(sa.text(
        "SELECT count(*) FROM core.person_status s WHERE valid_to IS NULL AND needs_review "  # noqa: S608
        f"AND NOT {SETTLED_SINCE_LAST_RUN}")).scalar()
    return {"pair": int(pairs), "conflict": int(conflicts)}


def filter_choices(conn: Connection) -> dict[str, list[str]]:
    """The sources and regions that occur in the queue (for the filter's lists)."""
    sources = conn.execute(sa.text(
        "SELECT left_source_id FROM core.review_pair WHERE decision IS NULL "
        "UNION SELECT right_source_id FROM core.review_pair WHERE decision IS NULL "
        "UNION SELECT conflict_lead_source_id FROM core.person_status WHERE valid_to IS NULL AND needs_review "
        "UNION SELECT conflict_rival_source_id FROM core.person_status WHERE valid_to IS NULL AND needs_review "
        "ORDER BY 1")).scalars().all()
    regions = conn.execute(sa.text("""
        SELECT f.region FROM core.review_pair p
        JOIN core.link_record f ON f.source_id = p.left_source_id AND f.record_key = p.left_record_key
        WHERE p.decision IS NULL AND f.region IS NOT NULL
        UNION
        SELECT f.region FROM core.review_pair p
        JOIN core.link_record f ON f.source_id = p.right_source_id AND f.record_key = p.right_record_key
        WHERE p.decision IS NULL AND f.region IS NOT NULL
        UNION
        SELECT region FROM core.person_status WHERE valid_to IS NULL AND needs_review AND region IS NOT NULL
        ORDER BY 1""")).scalars().all()
    return {"source": list(sources), "region": list(regions)}

