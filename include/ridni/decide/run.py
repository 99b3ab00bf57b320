"""The nightly decision: evidence from linked records as of a night, categories, SCD2 status history.

Reads the source records *as they stood on the night* (``core.source_record_version``), so any past
night can be decided again (backfill) and gives the same answer.
"""

from __future__ import annotations

import datetime as dt
import logging

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ridni.db import copy_frame, indexes_after_load, read_text_frame
from ridni.decide.engine import decide, supports, to_evidence

log = logging.getLogger(__name__)

# Each linked record's latest version on or before the night.
RECORDS_AS_OF = """
    SELECT DISTINCT ON (v.source_id, v.record_key)
           l.person_id, v.source_id, v.record_key, v.status, v.change = 'withdrawn' AS withdrawn,
           COALESCE(v.status_date, v.registered_on, v.valid_from) AS effective_date,
           v.person_type AS claimed_type, v.service_no, v.birth_date, v.disappeared_on, v.sex, v.region
    FROM core.source_record_version v
    JOIN core.person_link l USING (source_id, record_key)
    WHERE v.valid_from <= %(night)s {only}
    ORDER BY v.source_id, v.record_key, v.valid_from DESC, v.load_id DESC
"""


def _records_as_of(conn: Connection, night: dt.date, incremental: bool) -> pd.DataFrame:
    """RECORDS_AS_OF, read with COPY TO (a first night reads every record: read_sql takes 3x as long)."""
    records = read_text_frame(conn, RECORDS_AS_OF.format(only=ONLY_AFFECTED if incremental else ""),
                              {"night": night})
    # dates stay ISO text: every reader parses them with pd.to_datetime
    return records.astype({"person_id": "int64"}).assign(withdrawn=records["withdrawn"] == "t")


STATUS_COLUMNS = [
    "person_id", "valid_from", "category", "situation", "person_type", "icrc_confirmed", "region", "sex",
    "birth_year", "rule", "evidence_source_id", "evidence_record_key", "effective_date",
    "kind_rule", "kind_source_id", "kind_record_key", "kind_date", "needs_review", "review",
    "conflict_lead_source_id", "conflict_lead_record_key", "conflict_rival_source_id", "conflict_rival_record_key",
    "review_decision_id", "dag_run_id",
]
# A change in any of these opens a new version of the person's status.
TRACKED = ["category", "person_type", "icrc_confirmed", "region", "sex", "birth_year", "rule",
           "evidence_source_id", "evidence_record_key", "kind_rule", "kind_source_id", "kind_record_key", "review",
           "review_decision_id"]


def _year(birth: pd.Series) -> pd.Series:
    return pd.to_numeric(birth.astype("string").str[:4], errors="coerce")


def _mode(frame: pd.DataFrame, column: str) -> pd.Series:
    """Per person, the most frequent non-null value of ``column`` (the smallest on a tie), vectorised."""
    counts = frame.dropna(subset=[column]).groupby(["person_id", column]).size().rename("n").reset_index()
    counts = counts.sort_values(["person_id", "n", column], ascending=[True, False, True])
    return counts.drop_duplicates("person_id").set_index("person_id")[column]


def person_profiles(records: pd.DataFrame) -> pd.DataFrame:
    """Per person: derived type (child = civilian under 18 at disappearance), sex, region, birth year."""
    from ridni.standardise.regions import to_iso_series

    r = records.copy()
    r["birth"] = pd.to_datetime(r["birth_date"].where(r["birth_date"].astype("string").str.len() == 10),
                                errors="coerce")
    r["birth_year"] = _year(r["birth_date"])
    r["military"] = (r["claimed_type"] == "military") | r["service_no"].notna() | (r["status"] == "pow")
    r["iso_region"] = to_iso_series(r["region"])
    r["event_date"] = pd.to_datetime(r["disappeared_on"]).fillna(pd.to_datetime(r["effective_date"]))
    r["claims_child"] = r["claimed_type"] == "child"
    g = r.groupby("person_id")
    prof = pd.DataFrame({
        "birth": g["birth"].min(),
        "disappeared": g["event_date"].min(),
        "military": g["military"].any(),
        "claims_child": g["claims_child"].any(),
    })
    prof["birth_year"] = _mode(r, "birth_year")
    prof["sex"] = _mode(r, "sex")
    prof["region"] = _mode(r, "iso_region")
    prof[["sex", "region"]] = prof[["sex", "region"]].astype(object).where(prof[["sex", "region"]].notna(), None)
    birth = prof["birth"].fillna(pd.to_datetime(prof["birth_year"].astype("Int64").astype("string") + "-07-01",
                                                errors="coerce"))
    age = (prof["disappeared"] - birth).dt.days / 365.25
    child = (age < 18) | (age.isna() & prof["claims_child"])
    prof["person_type"] = np.where(prof["military"], "military", np.where(child, "child", "civilian"))
    return prof[["person_type", "sex", "region", "birth_year"]]


# Persons whose decision may have moved since the last decided night: a record of theirs has a new
# version, a record was linked to them, they took part in a merge or split, or a case officer decided
# their conflicting evidence after the last decision ran.
AFFECTED_PERSONS = """
    CREATE TEMPORARY TABLE affected_person ON COMMIT DROP AS
    SELECT l.person_id FROM core.source_record_version v JOIN core.person_link l USING (source_id, record_key)
    WHERE v.valid_from > :last AND v.valid_from <= :night
    UNION SELECT person_id FROM core.person_link WHERE linked_on > :last AND linked_on <= :night
    UNION SELECT person_id FROM core.person_event WHERE night > :last AND night <= :night
    UNION SELECT other_person_id FROM core.person_event
          WHERE night > :last AND night <= :night AND other_person_id IS NOT NULL
    UNION SELECT person_id FROM core.review_decision
          WHERE kind = 'evidence' AND decided_at > (SELECT at FROM core.decision_run WHERE night = :last)
"""
ONLY_AFFECTED = " AND l.person_id IN (SELECT person_id FROM affected_person)"


# Each person's standing evidence decision (the latest of a case officer's decisions on their evidence).
REVIEWS = """
    SELECT DISTINCT ON (person_id) person_id, decision_id, decision, evidence_source_id, evidence_record_key,
           evidence_seen
    FROM core.review_decision WHERE kind = 'evidence' {only}
    ORDER BY person_id, decision_id DESC
"""


def _reviews(conn: Connection, incremental: bool) -> pd.DataFrame:
    only = " AND person_id IN (SELECT person_id FROM affected_person)" if incremental else ""
    reviews = pd.read_sql(sa.text(REVIEWS.format(only=only)), conn)
    return reviews.astype({"person_id": "int64", "decision_id": "int64"})


def _current_status(conn: Connection, incremental: bool) -> pd.DataFrame:
    only = " AND person_id IN (SELECT person_id FROM affected_person)" if incremental else ""
    status = pd.read_sql(sa.text(f"SELECT * FROM core.person_status WHERE valid_to IS NULL{only}"), conn)  # noqa: S608
    # integers as the decision gives them (read_sql makes a column with NULLs float: 1987.0 is no change)
    return status.astype({"review_decision_id": "Int64", "birth_year": "Int64"})


def decide_night(engine: Engine, night: dt.date, dag_run_id: str | None = None, full: bool = False) -> dict:
    """Decide the category of every person as of ``night`` and record the changes as SCD2 versions.

    Incremental when the night follows the last decided one: only persons whose evidence or links
    moved since are decided again. The first night, a rerun and a backfill decide everyone (``full``).
    """
    with engine.begin() as conn:
        last = conn.execute(sa.text("SELECT max(night) FROM core.decision_run")).scalar()
        incremental = not full and last is not None and night > last
        if incremental:
            conn.execute(sa.text(AFFECTED_PERSONS), {"last": last, "night": night})
        else:
            # a rerun (or backfill) of this night replaces what this night wrote, and only that
            conn.execute(sa.text("DELETE FROM core.person_status WHERE valid_from >= :n"), {"n": night})
            conn.execute(sa.text("UPDATE core.person_status SET valid_to = NULL WHERE valid_to >= :n"), {"n": night})
            conn.execute(sa.text("DELETE FROM core.decision_run WHERE night >= :n"), {"n": night})
        records = _records_as_of(conn, night, incremental)
        previous = _current_status(conn, incremental)
        result = _decide(conn, night, dag_run_id, records, previous, incremental, _reviews(conn, incremental))
        conn.execute(sa.text(
            "INSERT INTO core.decision_run (night, mode, persons, changed, dag_run_id) VALUES (:n, :m, :p, :c, :r) "
            "ON CONFLICT (night) DO UPDATE SET mode = excluded.mode, persons = excluded.persons, "
            "changed = excluded.changed, dag_run_id = excluded.dag_run_id, at = now()"),
            {"n": night, "m": "incremental" if incremental else "full", "p": result["persons"],
             "c": result["changed"], "r": dag_run_id})
    result["mode"] = "incremental" if incremental else "full"
    log.info("decided %s", result)
    return result


RECONCILIATION_COLUMNS = ["person_id", "source_id", "category", "decided", "sources", "first_of_source", "supports"]


def _reconciliation_rows(evidence: pd.DataFrame, status: pd.DataFrame) -> pd.DataFrame:
    """Each decided person's part of the reconciliation: one row per source and category its evidence
    gives, with its decided category, whether that evidence supports it (generic evidence supports any
    held kind) and the person's number of sources (the marts sum these rows)."""
    decided = status.drop_duplicates("person_id").set_index("person_id")["category"]
    ev = evidence.assign(decided=evidence["person_id"].map(decided))
    ev["supports"] = supports(ev, ev["decided"])
    per = ev.groupby(["person_id", "source_id", "category"], as_index=False).agg(
        decided=("decided", "first"), supports=("supports", "any"))
    return per.assign(sources=per["person_id"].map(per.groupby("person_id")["source_id"].nunique()),
                      first_of_source=~per.duplicated(["person_id", "source_id"]))


def _decide(conn: Connection, night: dt.date, dag_run_id: str | None, records: pd.DataFrame,
            previous: pd.DataFrame, incremental: bool, reviews: pd.DataFrame | None = None) -> dict:
    if records.empty and previous.empty:
        return {"persons": 0, "changed": 0, "review": 0}
    profiles = person_profiles(records) if not records.empty else pd.DataFrame(
        columns=["person_type", "sex", "region", "birth_year"])
    records = records.join(profiles[["person_type"]], on="person_id")
    evidence = to_evidence(records) if not records.empty else pd.DataFrame(
        columns=["person_id", "source_id", "record_key", "situation", "category", "generic", "effective_date",
                 "authority", "person_type"])
    decisions = decide(evidence, reviews)
    # persons whose every record was withdrawn have no standing evidence: no category
    gone = profiles.index.difference(decisions["person_id"])
    # persons left without any record (merged into another, or every record moved away): no category
    emptied = pd.Index(previous.loc[previous["category"].notna(), "person_id"]).difference(profiles.index)
    extra = [pd.DataFrame({"person_id": ids, "category": None, "rule": rule, "needs_review": False,
                           "icrc_confirmed": False})
             for ids, rule in ((gone, "all_evidence_withdrawn"), (emptied, "no_linked_records")) if len(ids)]
    if extra:
        decisions = pd.concat([decisions, *extra], ignore_index=True)
    status = decisions.join(profiles, on="person_id").rename(columns={
        "source_id": "evidence_source_id", "record_key": "evidence_record_key"})
    status["valid_from"] = night
    status["dag_run_id"] = dag_run_id
    status["birth_year"] = status["birth_year"].astype("Int64")
    status["review_decision_id"] = status["review_decision_id"].astype("Int64")
    for col in ("effective_date", "kind_date"):
        status[col] = pd.to_datetime(status[col]).dt.date

    # only persons whose tracked fields changed get a new version
    merged = status.merge(previous, on="person_id", how="left", suffixes=("", "_prev"), indicator=True)
    changed = merged["_merge"] == "left_only"
    for col in TRACKED:
        a = merged[col].astype("string").fillna("")
        b = merged[f"{col}_prev"].astype("string").fillna("")
        changed |= a != b
    new_rows = status[changed.to_numpy()]
    closing = new_rows["person_id"][new_rows["person_id"].isin(previous["person_id"])]
    if len(closing):
        conn.execute(sa.text("CREATE TEMPORARY TABLE closing (person_id bigint) ON COMMIT DROP"))
        copy_frame(conn, "closing", ["person_id"], closing.to_frame())
        conn.execute(sa.text(
            "UPDATE core.person_status s SET valid_to = :n FROM closing c "
            "WHERE s.person_id = c.person_id AND s.valid_to IS NULL"), {"n": night})
    copy_frame(conn, "core.person_status", STATUS_COLUMNS, new_rows)

    if incremental:
        for table in ("core.evidence", "core.reconciliation_person"):
            conn.execute(sa.text(f"DELETE FROM {table} WHERE person_id IN (SELECT person_id FROM affected_person)"))  # noqa: S608
    else:
        conn.execute(sa.text("TRUNCATE core.evidence, core.reconciliation_person"))
    ev = evidence.assign(night=night, effective_date=pd.to_datetime(evidence["effective_date"]).dt.date)
    with indexes_after_load(conn, "core.evidence", len(ev)):
        copy_frame(conn, "core.evidence", ["person_id", "source_id", "record_key", "category", "generic",
                                           "effective_date", "authority", "night"], ev)
    copy_frame(conn, "core.reconciliation_person", RECONCILIATION_COLUMNS, _reconciliation_rows(ev, status))
    return {"persons": len(status), "changed": int(len(new_rows)),
            "review": int(status["needs_review"].fillna(False).sum())}
