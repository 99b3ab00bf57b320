"""The marts for one night, rebuilt from ``core`` (a rerun or backfill of the night gives the same rows)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ridni.db import copy_frame
from ridni.decide.rules import CATEGORIES
from ridni.privacy import pseudonymise
from ridni.publish.suppression import RECONCILIATION_COUNTS, configured_threshold, suppress, suppress_linked
from ridni.review.decisions import reviewed_moves

# docs/domain.md: the groups headquarters reads first, in this order.
HEADLINE = [
    ("all missing", ["missing"]),
    ("confirmed captive servicemembers", ["captive_pow"]),
    ("confirmed civilians held", ["civilian_detained", "enforced_disappearance", "illegally_convicted"]),
    ("confirmed civilians held, ICRC-confirmed", None),  # the icrc_confirmed flag among the group above
    ("deported children", ["deported_child"]),
    ("returned", ["returned"]),
]
CIVILIANS_HELD = HEADLINE[2][1]
AGE_BANDS = [(0, 17, "0-17"), (18, 29, "18-29"), (30, 44, "30-44"), (45, 59, "45-59"), (60, 200, "60+")]

# Every person with a category on the night :n.
ON_NIGHT = "s.valid_from <= :n AND (s.valid_to IS NULL OR s.valid_to > :n) AND s.category IS NOT NULL"
STATUS_ON_NIGHT = f"SELECT s.* FROM core.person_status s WHERE {ON_NIGHT}"  # noqa: S608
# The same persons, counted per combination of what the marts publish (n persons each): the database
# does the counting, so a million persons cross the wire as some thousands of rows.
_CELL = "category, person_type, region, sex, birth_year, icrc_confirmed, review"
STATUS_CELLS = f"SELECT {_CELL}, count(*) AS n FROM core.person_status s WHERE {ON_NIGHT} GROUP BY {_CELL}"  # noqa: S608


def age_band(birth_year: pd.Series, night: dt.date) -> pd.Series:
    age = night.year - pd.to_numeric(birth_year, errors="coerce")
    out = pd.Series("unknown", index=birth_year.index, dtype="string")
    for lo, hi, label in AGE_BANDS:
        out[(age >= lo) & (age <= hi)] = label
    return out


def _counts(status: pd.DataFrame, night: dt.date,
            threshold: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The fine breakdown, region x category and the category totals, each with its suppression.

    The category totals are published, so both tables are protected within each category; region x
    category and the fine breakdown are suppressed together, so neither gives back what the other hides.
    """
    s = status.assign(
        region=status["region"].fillna("unknown"), sex=status["sex"].fillna("unknown"),
        age_band=age_band(status["birth_year"], night),
    )
    dims = ["category", "person_type", "region", "sex", "age_band"]
    cube = s.groupby(dims, dropna=False)["n"].sum().rename("count_value").reset_index()
    regions = s.groupby(["category", "region"], dropna=False)["n"].sum().rename("count_value").reset_index()
    cube, regions = suppress_linked(cube, regions, link=["category", "region"],
                                    fine_relations=[["category"], ["category", "person_type"]],
                                    coarse_relations=[["category"]], threshold=threshold)
    totals = s.groupby("category")["n"].sum().reindex(list(CATEGORIES), fill_value=0).rename("count_value")
    totals = totals.reset_index()
    totals["group"] = np.where(totals["category"].isin(CIVILIANS_HELD), "civilians_held", totals["category"])
    totals = suppress(totals, [["group"]], threshold=threshold)
    return cube.assign(night=night), regions.assign(night=night), totals.assign(night=night)


def build_marts(engine: Engine, night: dt.date, *, threshold: int | None = None, dag_run_id: str | None = None) -> dict:
    """``threshold``: the smallest person count published (default: ``RIDNI_SUPPRESSION_THRESHOLD``)."""
    threshold = configured_threshold() if threshold is None else threshold
    with engine.begin() as conn:
        # a rerun keeps the provenance of changes it finds again: the run that first published them
        first_runs = {(p, c): r for p, c, r in conn.execute(sa.text(
            "SELECT pseudo_id, change, dag_run_id FROM marts.change_log WHERE night = :n"), {"n": night})}
        for table in ("category_counts", "region_category_counts", "category_totals", "headline", "change_log", "reconciliation",
                      "review_queue_size"):
            conn.execute(sa.text(f"DELETE FROM marts.{table} WHERE night = :n"), {"n": night})  # noqa: S608
        status = pd.read_sql(sa.text(STATUS_CELLS), conn, params={"n": night})
        cube, regions, totals = _counts(status, night, threshold)
        copy_frame(conn, "marts.category_counts",
                   ["night", "category", "person_type", "region", "sex", "age_band", "count_value", "suppressed",
                    "suppression"],
                   cube.assign(count_value=cube["count_value"].where(~cube["suppressed"]).astype("Int64")))
        copy_frame(conn, "marts.region_category_counts",
                   ["night", "category", "region", "count_value", "suppressed", "suppression"],
                   regions.assign(count_value=regions["count_value"].where(~regions["suppressed"]).astype("Int64")))
        copy_frame(conn, "marts.category_totals", ["night", "category", "count_value", "suppressed"],
                   totals.assign(count_value=totals["count_value"].where(~totals["suppressed"]).astype("Int64")))

        previous = dict(conn.execute(sa.text(
            "SELECT grp, count_value FROM marts.headline WHERE night = "
            "(SELECT max(night) FROM marts.headline WHERE night < :n)"), {"n": night}).all())
        rows = []
        for ord_, (grp, cats) in enumerate(HEADLINE):
            members = status[status["category"].isin(cats)] if cats is not None else \
                status[status["category"].isin(CIVILIANS_HELD) & status["icrc_confirmed"].astype(bool)]
            value, kind_review, situation_review = (
                _publishable(int(members.loc[which, "n"].sum()), threshold)
                for which in (slice(None), members["review"] == "kind", members["review"] == "situation"))
            prev = previous.get(grp)
            rows.append({"night": night, "ord": ord_, "grp": grp, "count_value": value, "previous_value": prev,
                         "change": None if value is None or prev is None else value - prev,
                         "kind_review": kind_review, "situation_review": situation_review})
        copy_frame(conn, "marts.headline", ["night", "ord", "grp", "count_value", "previous_value", "change",
                                            "kind_review", "situation_review"],
                   pd.DataFrame(rows).astype({c: "Int64" for c in ("count_value", "previous_value", "change",
                                                                    "kind_review", "situation_review")}))

        changes = _change_log(conn, night, dag_run_id)
        changes["dag_run_id"] = [first_runs.get((p, c), r) for p, c, r in
                                 zip(changes["pseudo_id"], changes["change"], changes["dag_run_id"], strict=True)]
        copy_frame(conn, "marts.change_log", list(changes.columns), changes)
        recon = _reconciliation(conn, night, threshold)
        copy_frame(conn, "marts.reconciliation", list(recon.columns), recon)
        queue = conn.execute(sa.text("SELECT count(*) FROM core.review_pair WHERE decision IS NULL")).scalar()
        conn.execute(sa.text(
            "INSERT INTO marts.review_queue_size (night, linkage_pairs, category_conflicts) VALUES (:n, :q, :c)"),
            {"n": night, "q": queue, "c": int(status.loc[status["review"].notna(), "n"].sum())})
    return {"persons": int(status["n"].sum()), "changes": len(changes)}


def _publishable(count: int, threshold: int) -> int | None:
    """A count of persons as published: NULL from 1 to ``threshold - 1``, so nobody can be singled out."""
    return count if count == 0 or count >= threshold else None


def _change_log(conn, night: dt.date, dag_run_id: str | None) -> pd.DataFrame:
    moves = pd.read_sql(sa.text("""
        SELECT s.person_id, p.category AS from_category, s.category AS to_category, s.effective_date,
               s.evidence_source_id AS evidence_source, s.evidence_record_key AS evidence_record,
               concat_ws(' / ', s.rule, s.kind_rule) AS rule,  -- the situation's rule, and inside held the kind's
               p.person_id IS NULL AS is_new, w.person_id IS NOT NULL AS withdrawal
        FROM core.person_status s
        LEFT JOIN core.person_status p ON p.person_id = s.person_id AND p.valid_to = s.valid_from
        -- persons with a record withdrawn tonight, found once (not probed for each row)
        LEFT JOIN (SELECT DISTINCT l.person_id FROM core.person_link l
                   JOIN core.source_record_version v USING (source_id, record_key)
                   WHERE v.valid_from = :n AND v.change = 'withdrawn') w ON w.person_id = s.person_id
        WHERE s.valid_from = :n AND (p.person_id IS NULL OR p.category IS DISTINCT FROM s.category)
    """), conn, params={"n": night})
    moves["change"] = np.select([moves["is_new"].astype(bool), moves["withdrawal"].astype(bool)], ["new_person", "withdrawal"],
                                "category_change")
    events = pd.read_sql(sa.text(
        "SELECT person_id, kind AS change, other_person_id FROM core.person_event "
        "WHERE night = :n AND kind IN ('merge', 'split')"), conn, params={"n": night})
    out = pd.concat([moves, events], ignore_index=True)
    out["review"] = out["person_id"].map(reviewed_moves(conn, night))  # moves a reviewer's decision caused
    out["pseudo_id"] = pseudonymise(out["person_id"].astype("int64"))
    # evidence records are named by source and a keyed hash of their key: no identifiers for analysts
    reference = out["evidence_source"].astype("string") + "/" + out["evidence_record"].astype("string")
    out["evidence_record"] = pseudonymise(reference, prefix="R-")
    out["night"] = night
    out["dag_run_id"] = dag_run_id
    cols = ["night", "pseudo_id", "change", "from_category", "to_category", "effective_date", "evidence_source",
            "evidence_record", "rule", "review", "dag_run_id"]
    return out[cols].sort_values(["change", "pseudo_id"], ignore_index=True)


# Per source and category: the source's own count, and the warehouse's count for the same persons by
# their decided category; disagreeing: persons whose decided category this evidence does not support
# (generic "held" evidence supports every kind of held). The decision keeps each person's part
# (core.reconciliation_person, one row per source and category its evidence gives, for the night it
# decided last): here it is only added up.
RECONCILIATION = """
    WITH by_source AS (
        SELECT source_id, category, count(*) AS source_count,
               count(*) FILTER (WHERE sources = 1) AS only_in_source,
               count(*) FILTER (WHERE NOT supports) AS disagreeing
        FROM core.reconciliation_person GROUP BY source_id, category
    ), warehouse AS (
        SELECT source_id, decided AS category, count(*) AS warehouse_count
        FROM core.reconciliation_person WHERE decided IS NOT NULL AND first_of_source
        GROUP BY source_id, decided
    )
    SELECT CAST(:n AS date) AS night, COALESCE(b.source_id, w.source_id) AS source_id,
           COALESCE(b.category, w.category) AS category, COALESCE(b.source_count, 0) AS source_count,
           COALESCE(w.warehouse_count, 0) AS warehouse_count, COALESCE(b.only_in_source, 0) AS only_in_source,
           COALESCE(b.disagreeing, 0) AS disagreeing
    FROM by_source b FULL JOIN warehouse w ON w.source_id = b.source_id AND w.category = b.category
    ORDER BY 2, 3
"""  # noqa: S608 (our own query text)


def _reconciliation(conn, night: dt.date, threshold: int) -> pd.DataFrame:
    """Per source: its own count per category next to the warehouse's count for the same persons (in SQL).

    A count from 1 to ``threshold - 1`` is stored as NULL: the mart holds only what may be published.
    """
    out = pd.read_sql(sa.text(RECONCILIATION), conn, params={"n": night})
    for column in RECONCILIATION_COUNTS:
        out[column] = out[column].astype("Int64").mask((out[column] > 0) & (out[column] < threshold))
    return out
