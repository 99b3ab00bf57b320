"""The nightly person resolution: deterministic keys, Splink, review decisions, clusters, stable ids.

Every link says why: the deterministic rule (``rnokpp``, ``service_no``, ``appeal_ref``) or the Splink
match probability and weight with the comparison levels of the pair (``explanation``). Records that
link to nothing are persons of their own (``rule = 'single'``).
"""

from __future__ import annotations

import datetime as dt
import logging

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ridni.db import copy_frame
from ridni.linkage import clusters
from ridni.linkage.features import build_features

log = logging.getLogger(__name__)

UPPER = 0.90  # at or above: linked
LOWER = 0.50  # between LOWER and UPPER: the review queue


def deterministic_edges(f: pd.DataFrame) -> pd.DataFrame:
    """Pairs sharing a valid RNOKPP or a service number, and register rows citing police appeals."""
    parts = []
    for key in ("rnokpp", "service_no"):
        k = f[["unique_id", key]].dropna()
        k = k[k[key] != ""]
        first = k.groupby(key)["unique_id"].transform("min")
        star = k[k["unique_id"] != first]
        parts.append(pd.DataFrame({"l": first[star.index], "r": star["unique_id"], "rule": key}))
    refs = f.loc[f["source_id"] == "mvs_register", ["unique_id", "appeal_refs"]].dropna()
    refs = refs.assign(ref=refs["appeal_refs"].str.split("|")).explode("ref")
    refs["ref"] = refs["ref"].str.strip()
    appeals = f.loc[f["source_id"] == "npu_appeals", ["unique_id", "record_key"]]
    cited = refs.merge(appeals, left_on="ref", right_on="record_key", suffixes=("", "_appeal"))
    parts.append(pd.DataFrame({"l": cited["unique_id"], "r": cited["unique_id_appeal"], "rule": "appeal_ref"}))
    return pd.concat(parts, ignore_index=True)


def _review_decisions(conn, f: pd.DataFrame) -> pd.DataFrame:
    decided = pd.read_sql(sa.text(
        "SELECT left_source_id, left_record_key, right_source_id, right_record_key, decision "
        "FROM core.review_pair WHERE decision IS NOT NULL"), conn)
    ids = f.set_index(["source_id", "record_key"])["unique_id"]
    decided["l"] = [ids.get((s, k)) for s, k in zip(decided["left_source_id"], decided["left_record_key"], strict=True)]
    decided["r"] = [ids.get((s, k)) for s, k in zip(decided["right_source_id"], decided["right_record_key"],
                                                    strict=True)]
    return decided.dropna(subset=["l", "r"]).astype({"l": "int64", "r": "int64"})


def _explain(pairs: pd.DataFrame) -> pd.Series:
    """The comparison level of each field for each pair, as JSON (vectorised)."""
    gamma_cols = sorted(c for c in pairs.columns if c.startswith("gamma_"))
    if pairs.empty or not gamma_cols:
        return pd.Series("{}", index=pairs.index, dtype="string")
    parts = [f'"{c.removeprefix("gamma_")}": ' + pairs[c].astype("string") for c in gamma_cols]
    joined = parts[0]
    for p in parts[1:]:
        joined = joined + ", " + p
    return "{" + joined + "}"


def resolve_persons(engine: Engine, night: dt.date, dag_run_id: str | None = None,
                    upper: float = UPPER, lower: float = LOWER) -> dict:
    """Link every source record to a person and keep person ids stable; returns counts for the log."""
    from ridni.linkage.model import predict

    with engine.connect() as conn:
        records = pd.read_sql(sa.text(
            "SELECT source_id, record_key, surname, first_name, patronymic, full_name, birth_date, sex, rnokpp, "
            "service_no, region, appeal_refs FROM core.source_record ORDER BY source_id, record_key"), conn)
        previous = pd.read_sql(sa.text("SELECT source_id, record_key, person_id FROM core.person_link"), conn)
    if records.empty:
        return {"records": 0, "persons": 0}
    f = build_features(records)
    f["unique_id"] = np.arange(len(f))

    det = deterministic_edges(f)
    prediction = predict(f, deterministic_rules=["l.rnokpp = r.rnokpp", "l.service_no = r.service_no"],
                         threshold=lower)
    pairs = prediction.pairs
    with engine.connect() as conn:
        reviews = _review_decisions(conn, f)
    same = reviews[reviews["decision"] == "same"]
    different = set(map(tuple, np.sort(reviews.loc[reviews["decision"] == "different", ["l", "r"]].to_numpy(),
                                       axis=1).tolist()))

    strong = pairs[pairs["match_probability"] >= upper]
    uncertain = pairs[(pairs["match_probability"] < upper) & (pairs["match_probability"] >= lower)]
    edge_frames = [
        pd.DataFrame({"l": det["l"], "r": det["r"], "rule": det["rule"], "p": np.nan, "w": np.nan, "x": "{}"}),
        pd.DataFrame({"l": strong["unique_id_l"], "r": strong["unique_id_r"], "rule": "splink",
                      "p": strong["match_probability"], "w": strong["match_weight"],
                      "x": _explain(strong)}),
        pd.DataFrame({"l": same["l"], "r": same["r"], "rule": "review_same", "p": np.nan, "w": np.nan, "x": "{}"}),
    ]
    edges = pd.concat(edge_frames, ignore_index=True)
    lo, hi = np.minimum(edges["l"], edges["r"]), np.maximum(edges["l"], edges["r"])
    edges = edges.assign(l=lo, r=hi)
    if different:  # a reviewer's "different" removes the link, whatever the model thinks
        keep = [(a, b) not in different for a, b in zip(edges["l"], edges["r"], strict=True)]
        edges = edges[keep]
    labels = clusters.components(len(f), edges["l"].to_numpy(), edges["r"].to_numpy())

    prev = f.merge(previous, on=["source_id", "record_key"], how="left")["person_id"]
    with engine.begin() as conn:
        next_val = conn.execute(sa.text("SELECT COALESCE(max(person_id), 0) FROM core.person")).scalar()
        counter = iter(range(next_val + 1, next_val + 1 + len(f) + 1))
        assignment = clusters.assign_person_ids(labels, prev, lambda: next(counter))
        f["person_id"] = assignment.person_of_record.to_numpy()

        # the rule that brought each record in: its strongest edge (deterministic first)
        ranked = edges.assign(order=edges["rule"].map({"rnokpp": 0, "service_no": 1, "appeal_ref": 2,
                                                       "review_same": 3, "splink": 4}))
        both = pd.concat([ranked.rename(columns={"l": "uid"}), ranked.rename(columns={"r": "uid"})])
        best = both.sort_values(["uid", "order", "p"], ascending=[True, True, False]).drop_duplicates("uid")
        best = best.set_index("uid")
        links = f[["source_id", "record_key", "person_id", "unique_id"]].copy()
        links["rule"] = links["unique_id"].map(best["rule"]).fillna("single")
        links["match_probability"] = links["unique_id"].map(best["p"])
        links["match_weight"] = links["unique_id"].map(best["w"])
        links["explanation"] = links["unique_id"].map(best["x"]).fillna("{}")
        links["linked_on"] = night
        links["dag_run_id"] = dag_run_id

        new_persons = pd.DataFrame({"person_id": assignment.new_persons, "created_on": night})
        copy_frame(conn, "core.person", ["person_id", "created_on"], new_persons)
        conn.execute(sa.text("TRUNCATE core.person_link"))
        copy_frame(conn, "core.person_link", ["source_id", "record_key", "person_id", "rule", "match_probability",
                                              "match_weight", "explanation", "linked_on", "dag_run_id"], links)
        alive = set(links["person_id"])
        conn.execute(sa.text("DELETE FROM core.person_event WHERE night = :n"), {"n": night})
        events = [{"kind": "merge", "person_id": k, "other_person_id": o, "records": n}
                  for k, o, n in assignment.merges]
        events += [{"kind": "split", "person_id": o, "other_person_id": k, "records": n}
                   for o, k, n in assignment.splits]
        if events:
            copy_frame(conn, "core.person_event", ["night", "kind", "person_id", "other_person_id", "records",
                                                   "dag_run_id"],
                       pd.DataFrame(events).assign(night=night, dag_run_id=dag_run_id))
        for keeper, absorbed, _ in assignment.merges:
            if absorbed not in alive:
                conn.execute(sa.text("UPDATE core.person SET merged_into = :k, retired_on = :n WHERE person_id = :a"),
                             {"k": keeper, "n": night, "a": absorbed})

        # the review queue: uncertain pairs not yet decided, both records side by side via their keys
        queue = uncertain.merge(f[["unique_id", "source_id", "record_key"]], left_on="unique_id_l",
                                right_on="unique_id").merge(
            f[["unique_id", "source_id", "record_key"]], left_on="unique_id_r", right_on="unique_id",
            suffixes=("_a", "_b"))
        if not queue.empty:
            swap = (queue["source_id_a"] + "\x00" + queue["record_key_a"]) > (
                queue["source_id_b"] + "\x00" + queue["record_key_b"])
            q = pd.DataFrame({
                "left_source_id": np.where(swap, queue["source_id_b"], queue["source_id_a"]),
                "left_record_key": np.where(swap, queue["record_key_b"], queue["record_key_a"]),
                "right_source_id": np.where(swap, queue["source_id_a"], queue["source_id_b"]),
                "right_record_key": np.where(swap, queue["record_key_a"], queue["record_key_b"]),
                "match_probability": queue["match_probability"],
                "match_weight": queue["match_weight"],
                "comparison": _explain(queue).to_numpy(),
                "night": night,
            })
            conn.execute(sa.text(
                "CREATE TEMPORARY TABLE review_in (left_source_id text, left_record_key text, right_source_id text, "
                "right_record_key text, match_probability float8, match_weight float8, comparison jsonb, night date) "
                "ON COMMIT DROP"))
            copy_frame(conn, "review_in", list(q.columns), q)
            conn.execute(sa.text("""
                INSERT INTO core.review_pair (left_source_id, left_record_key, right_source_id, right_record_key,
                    match_probability, match_weight, comparison, first_queued_on, last_seen_on)
                SELECT left_source_id, left_record_key, right_source_id, right_record_key,
                       match_probability, match_weight, comparison, night, night FROM review_in
                ON CONFLICT (left_source_id, left_record_key, right_source_id, right_record_key)
                DO UPDATE SET match_probability = excluded.match_probability, match_weight = excluded.match_weight,
                              comparison = excluded.comparison, last_seen_on = excluded.last_seen_on
            """))
    result = {"records": len(f), "persons": len(alive), "deterministic_edges": len(det),
              "splink_links": len(strong), "review_pairs": len(uncertain), "comparisons": prediction.comparisons,
              "new_persons": len(assignment.new_persons), "merges": len(assignment.merges),
              "splits": len(assignment.splits)}
    log.info("resolved persons: %s", result)
    return result
