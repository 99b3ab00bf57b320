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

from ridni.db import copy_frame
from ridni.decide.engine import decide, to_evidence

log = logging.getLogger(__name__)

# Each linked record's latest version on or before the night.
RECORDS_AS_OF = """
    SELECT DISTINCT ON (v.source_id, v.record_key)
           l.person_id, v.source_id, v.record_key, v.status, v.change = 'withdrawn' AS withdrawn,
           COALESCE(v.status_date, v.registered_on, v.valid_from) AS effective_date,
           v.person_type AS claimed_type, v.service_no, v.birth_date, v.disappeared_on, v.sex, v.region
    FROM core.source_record_version v
    JOIN core.person_link l USING (source_id, record_key)
    WHERE v.valid_from <= :night
    ORDER BY v.source_id, v.record_key, v.valid_from DESC, v.load_id DESC
"""

STATUS_COLUMNS = [
    "person_id", "valid_from", "category", "person_type", "icrc_confirmed", "region", "sex", "birth_year",
    "rule", "evidence_source_id", "evidence_record_key", "effective_date", "needs_review",
    "conflict_source_id", "conflict_record_key", "dag_run_id",
]
# A change in any of these opens a new version of the person's status.
TRACKED = ["category", "person_type", "icrc_confirmed", "region", "sex", "birth_year", "rule",
           "evidence_source_id", "evidence_record_key", "needs_review"]


def _year(birth: pd.Series) -> pd.Series:
    return pd.to_numeric(birth.astype("string").str[:4], errors="coerce")


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
    g = r.groupby("person_id")
    prof = pd.DataFrame({
        "birth": g["birth"].min(),
        "birth_year": g["birth_year"].agg(lambda s: s.mode().min() if s.notna().any() else np.nan),
        "disappeared": g["event_date"].min(),
        "military": g["military"].any(),
        "claims_child": g["claimed_type"].agg(lambda s: (s == "child").any()),
        "sex": g["sex"].agg(lambda s: s.mode().min() if s.notna().any() else None),
        "region": g["iso_region"].agg(lambda s: s.mode().min() if s.notna().any() else None),
    })
    birth = prof["birth"].fillna(pd.to_datetime(prof["birth_year"].astype("Int64").astype("string") + "-07-01",
                                                errors="coerce"))
    age = (prof["disappeared"] - birth).dt.days / 365.25
    child = (age < 18) | (age.isna() & prof["claims_child"])
    prof["person_type"] = np.where(prof["military"], "military", np.where(child, "child", "civilian"))
    return prof[["person_type", "sex", "region", "birth_year"]]


def _current_status(conn: Connection) -> pd.DataFrame:
    return pd.read_sql(sa.text("SELECT * FROM core.person_status WHERE valid_to IS NULL"), conn)


def decide_night(engine: Engine, night: dt.date, dag_run_id: str | None = None) -> dict:
    """Decide every person's category as of ``night`` and record the changes as SCD2 versions."""
    with engine.begin() as conn:
        # a rerun (or backfill) of this night replaces what this night wrote, and only that
        conn.execute(sa.text("DELETE FROM core.person_status WHERE valid_from >= :n"), {"n": night})
        conn.execute(sa.text("UPDATE core.person_status SET valid_to = NULL WHERE valid_to >= :n"), {"n": night})
        records = pd.read_sql(sa.text(RECORDS_AS_OF), conn, params={"night": night})
        if records.empty:
            return {"persons": 0, "changed": 0}
        profiles = person_profiles(records)
        records = records.join(profiles[["person_type"]], on="person_id")
        evidence = to_evidence(records)
        previous = _current_status(conn)
        decisions = decide(evidence, previous[["person_id", "category"]])
        # persons whose every record was withdrawn have no standing evidence: no category
        gone = profiles.index.difference(decisions["person_id"])
        if len(gone):
            decisions = pd.concat([decisions, pd.DataFrame({
                "person_id": gone, "category": None, "rule": "all_evidence_withdrawn", "needs_review": False,
            })], ignore_index=True)
        icrc = evidence[evidence["source_id"] == "icrc_confirmations"][["person_id", "category"]]
        icrc_ok = set(map(tuple, icrc.to_numpy()))
        decisions["icrc_confirmed"] = [
            (p, c) in icrc_ok for p, c in zip(decisions["person_id"], decisions["category"], strict=True)
        ]
        status = decisions.join(profiles, on="person_id").rename(columns={
            "source_id": "evidence_source_id", "record_key": "evidence_record_key"})
        status["valid_from"] = night
        status["dag_run_id"] = dag_run_id
        status["birth_year"] = status["birth_year"].astype("Int64")
        status["effective_date"] = pd.to_datetime(status["effective_date"]).dt.date

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

        conn.execute(sa.text("DELETE FROM core.evidence"))
        ev = evidence.assign(night=night, effective_date=evidence["effective_date"].dt.date)
        copy_frame(conn, "core.evidence",
              ["person_id", "source_id", "record_key", "category", "effective_date", "authority", "night"], ev)
    log.info("decided %d persons, %d changed", len(status), len(new_rows))
    return {"persons": len(status), "changed": int(len(new_rows)),
            "review": int(status["needs_review"].fillna(False).sum())}
