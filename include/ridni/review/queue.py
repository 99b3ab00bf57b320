"""The review queue: undecided record pairs, ordered by what deciding them would change.

Order: first the pairs whose "same" would move a person out of ``missing`` (one side's person is
missing, the other's confirmed), then those joining persons of two headline groups, then the rest;
within each, the pairs nearest the middle of the review band (the least certain) first. A pair an
officer marked "not sure" goes behind every pair nobody has looked at, the least recently skipped first.
One set-based query over the undecided pairs (20,000 pairs: milliseconds), paged by LIMIT/OFFSET.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, fields

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ridni.publish.marts import HEADLINE

PER_PAGE = 50
KINDS = ("pair",)  # category conflicts join the queue when the decision step gives them a review of their own
# impact classes, most urgent first
OUT_OF_MISSING, HEADLINE_GROUP, OTHER = 0, 1, 2
IMPACTS = {OUT_OF_MISSING: "out_of_missing", HEADLINE_GROUP: "headline_group", OTHER: "other"}


@dataclass(frozen=True)
class QueueFilter:
    source: str | None = None  # either record's source
    region: str | None = None  # either record's region (ISO 3166-2:UA)
    kind: str = "pair"
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


QUEUE_SQL = f"""
WITH today AS (SELECT COALESCE((SELECT max(night) FROM core.decision_run), current_date) AS night),
groups AS (SELECT * FROM unnest(CAST(:categories AS text[]), CAST(:groups AS text[])) AS g(category, grp)),
q AS (
    SELECT p.pair_id, p.left_source_id, p.left_record_key, p.right_source_id, p.right_record_key,
           p.match_probability, p.match_weight, p.first_queued_on,
           (SELECT night FROM today) - p.first_queued_on AS nights,
           fa.region AS left_region, fb.region AS right_region,
           la.person_id AS left_person, lb.person_id AS right_person,
           sa.category AS left_category, sb.category AS right_category,
           (SELECT max(d.decided_at) FROM core.review_decision d
            WHERE d.kind = 'pair' AND d.pair_id = p.pair_id) AS skipped_at
    FROM core.review_pair p
    LEFT JOIN core.link_record fa ON fa.source_id = p.left_source_id AND fa.record_key = p.left_record_key
    LEFT JOIN core.link_record fb ON fb.source_id = p.right_source_id AND fb.record_key = p.right_record_key
    LEFT JOIN core.person_link la ON la.source_id = p.left_source_id AND la.record_key = p.left_record_key
    LEFT JOIN core.person_link lb ON lb.source_id = p.right_source_id AND lb.record_key = p.right_record_key
    LEFT JOIN core.person_status sa ON sa.person_id = la.person_id AND sa.valid_to IS NULL
    LEFT JOIN core.person_status sb ON sb.person_id = lb.person_id AND sb.valid_to IS NULL
    WHERE p.decision IS NULL
      AND (CAST(:source AS text) IS NULL OR :source IN (p.left_source_id, p.right_source_id))
      AND (CAST(:region AS text) IS NULL OR :region IN (fa.region, fb.region))
      AND (CAST(:min_nights AS integer) IS NULL
           OR p.first_queued_on <= (SELECT night FROM today) - CAST(:min_nights AS integer))
)
SELECT q.*,
       CASE WHEN q.left_person IS NOT DISTINCT FROM q.right_person THEN {OTHER}
            WHEN (q.left_category = 'missing') <> (q.right_category = 'missing') THEN {OUT_OF_MISSING}
            WHEN ga.grp IS DISTINCT FROM gb.grp THEN {HEADLINE_GROUP}
            ELSE {OTHER} END AS impact,
       count(*) OVER () AS total
FROM q
LEFT JOIN groups ga ON ga.category = q.left_category
LEFT JOIN groups gb ON gb.category = q.right_category
ORDER BY q.skipped_at NULLS FIRST, impact, abs(q.match_probability - :middle), q.pair_id
LIMIT :limit OFFSET :offset
"""  # noqa: S608 (our own constants only)


@dataclass(frozen=True)
class QueuePage:
    rows: pd.DataFrame  # QUEUE_SQL's columns, in queue order
    total: int  # pairs matching the filter
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def queue_page(conn: Connection, flt: QueueFilter = QueueFilter(), page: int = 1,
               per_page: int = PER_PAGE) -> QueuePage:
    """One page of the queue (``page`` from 1) under the filter."""
    if flt.kind not in KINDS:
        return QueuePage(pd.DataFrame(), 0, 1, per_page)
    categories, groups = headline_groups()
    page = max(1, page)
    rows = pd.read_sql(sa.text(QUEUE_SQL), conn, params={
        "categories": categories, "groups": groups, "source": flt.source or None, "region": flt.region or None,
        "min_nights": flt.min_nights, "middle": band_middle(), "limit": per_page, "offset": (page - 1) * per_page})
    total = int(rows["total"].iloc[0]) if len(rows) else 0
    if not len(rows) and page > 1:  # past the end: the total all the same
        total = queue_page(conn, flt, 1, 1).total
    return QueuePage(rows.drop(columns="total"), total, page, per_page)


def next_pair(conn: Connection, flt: QueueFilter = QueueFilter()) -> int | None:
    """The pair at the head of the queue under the filter (None: nothing left)."""
    rows = queue_page(conn, flt, 1, 1).rows
    return int(rows["pair_id"].iloc[0]) if len(rows) else None


def sizes(conn: Connection) -> dict[str, int]:
    """How many wait, per kind: undecided pairs, and persons whose evidence conflicts."""
    pairs = conn.execute(sa.text("SELECT count(*) FROM core.review_pair WHERE decision IS NULL")).scalar()
    conflicts = conn.execute(sa.text(
        "SELECT count(*) FROM core.person_status WHERE valid_to IS NULL AND needs_review")).scalar()
    return {"pair": int(pairs), "conflict": int(conflicts)}


def filter_choices(conn: Connection) -> dict[str, list[str]]:
    """The sources and regions that occur among the undecided pairs' records (for the filter's lists)."""
    sources = conn.execute(sa.text(
        "SELECT left_source_id FROM core.review_pair WHERE decision IS NULL "
        "UNION SELECT right_source_id FROM core.review_pair WHERE decision IS NULL ORDER BY 1")).scalars().all()
    regions = conn.execute(sa.text("""
        SELECT f.region FROM core.review_pair p
        JOIN core.link_record f ON f.source_id = p.left_source_id AND f.record_key = p.left_record_key
        WHERE p.decision IS NULL AND f.region IS NOT NULL
        UNION
        SELECT f.region FROM core.review_pair p
        JOIN core.link_record f ON f.source_id = p.right_source_id AND f.record_key = p.right_record_key
        WHERE p.decision IS NULL AND f.region IS NOT NULL
        ORDER BY 1""")).scalars().all()
    return {"source": list(sources), "region": list(regions)}

