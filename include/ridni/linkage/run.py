"""The nightly person resolution: deterministic keys, Splink, review decisions, clusters, stable ids.

Every link says why: the deterministic rule (``rnokpp``, ``service_no``, ``appeal_ref``) or the Splink
match probability and weight with the comparison levels of the pair (``explanation``). Records that
link to nothing are persons of their own (``rule = 'single'``).

The work of a night is proportional to what changed in it:

1. records whose ``row_hash`` differs from the one their features were built from (or that are new)
   are standardised again into ``core.link_record``;
2. their candidate partners are found by index (records sharing a blocking key or a deterministic
   key), and only pairs with a changed record are scored, with the stored Splink model;
3. the links of changed records in ``core.link_edge`` are replaced by tonight's;
4. only the persons those records belonged to or now link to are clustered again, with the
   reviewers' decisions (``same`` joins, ``different`` keeps apart, even across a chain of links); two
   records with different valid RNOKPPs are kept apart the same way.

A *full* night does the same with every record changed: on the first night, when the model is older
than ``RIDNI_LINKAGE_RETRAIN_DAYS`` (it is then trained again on all records), or when asked
(``ridni`` has no subcommand for it; the ``resolve_persons`` DAG takes ``full``/``retrain`` params).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ridni.contracts import Reference
from ridni.contracts import references as contract_references
from ridni.db import copy_frame, indexes_after_load, read_text_frame
from ridni.linkage import clusters
from ridni.linkage.features import FEATURE_COLUMNS, build_features
from ridni.linkage.model import BLOCKING_KEYS, BLOCKING_KEYS_IF_MISSING, Model, comparisons

log = logging.getLogger(__name__)

UPPER = 0.90  # at or above: linked
LOWER = 0.50  # between LOWER and UPPER: the review queue
DETERMINISTIC_KEYS = ("rnokpp", "service_no")
# Which link explains a record best, strongest first (a reviewer's word over any rule).
RULE_ORDER = {"review_same": 0, "rnokpp": 1, "service_no": 2, "appeal_ref": 3, "splink": 4}
_SOURCE_COLUMNS = ("surname, first_name, patronymic, full_name, birth_date, sex, rnokpp, service_no, region, "
                   "appeal_refs, person_type, status")
_FEATURES = [c for c in FEATURE_COLUMNS if c not in ("source_id", "record_key")]


# The canonical field whose references the linkage follows, stored split as ``core.link_record.appeal_ref``.
REFERENCE_FIELD = "appeal_refs"


def _references() -> list[tuple[str, Reference]]:
    """The contracts' references the linkage follows: (citing source, reference), each a ``appeal_ref`` link."""
    refs = contract_references()
    other = sorted({f"{source}.{ref.field}" for source, ref in refs if ref.field != REFERENCE_FIELD})
    if other:
        raise ValueError(f"the linkage follows references in {REFERENCE_FIELD} only, not {other}")
    return refs


def deterministic_edges(f: pd.DataFrame) -> pd.DataFrame:
    """Pairs sharing a valid RNOKPP or a service number, and records citing another source's records.

    The citations are the contracts' ``references`` (the register's ``appeal_refs`` into the police
    appeals). Within a key every pair is an edge (not a star around one record), so a record that later
    leaves the key takes only its own edges with it. With a boolean ``changed`` column, only pairs that
    involve a changed record are returned.
    """
    changed = f["changed"] if "changed" in f else pd.Series(True, index=f.index)
    parts = []
    for key in DETERMINISTIC_KEYS:
        k = f.loc[f[key].notna() & (f[key] != ""), ["unique_id", key]]
        k = k[k[key].duplicated(keep=False)]
        pairs = k.merge(k, on=key, suffixes=("_l", "_r"))
        pairs = pairs[pairs["unique_id_l"] < pairs["unique_id_r"]]
        parts.append(pd.DataFrame({"l": pairs["unique_id_l"], "r": pairs["unique_id_r"], "rule": key}))
    for citing, ref in _references():
        refs = f.loc[f["source_id"] == citing, ["unique_id", ref.field]].dropna()
        refs = refs.assign(ref=refs[ref.field].map(ref.values)).explode("ref")
        cited = f.loc[f["source_id"] == ref.source, ["unique_id", ref.key]]
        cited = refs.merge(cited, left_on="ref", right_on=ref.key, suffixes=("", "_cited"))
        parts.append(pd.DataFrame({"l": cited["unique_id"], "r": cited["unique_id_cited"], "rule": "appeal_ref"}))
    edges = pd.concat(parts, ignore_index=True)
    is_changed = changed.set_axis(f["unique_id"])
    touches = is_changed.reindex(edges["l"]).to_numpy() | is_changed.reindex(edges["r"]).to_numpy()
    return edges[touches].reset_index(drop=True)


def _explain(pairs: pd.DataFrame) -> pd.Series:
    """The comparison level of each field for each pair, as JSON (vectorised).

    A million pairs share a few hundred combinations of levels: each combination is written once.
    """
    gamma_cols = sorted(c for c in pairs.columns if c.startswith("gamma_"))
    if pairs.empty or not gamma_cols:
        return pd.Series("{}", index=pairs.index, dtype="string")
    levels = pairs[gamma_cols].to_numpy(dtype="int64")
    low, base = levels.min(), int(levels.max() - levels.min()) + 1
    code = ((levels - low) * base ** np.arange(len(gamma_cols))).sum(axis=1)  # one number per combination
    codes, combos = pd.factorize(code)
    first = pd.Series(np.arange(len(code))).groupby(codes).first().to_numpy()
    texts = np.array(["{" + ", ".join(f'"{c.removeprefix("gamma_")}": {v}' for c, v in zip(gamma_cols, levels[i],
                                                                                           strict=True)) + "}"
                      for i in first], dtype=object)
    return pd.Series(texts[codes], index=pairs.index, dtype="string")


# --- 1. features of changed records ------------------------------------------------------------------

def _read_records(conn: Connection, full: bool) -> pd.DataFrame:
    """Source records whose features must be built: all (full), or those the loads queued since.

    The queue (``core.link_pending``, filled by triggers on ``core.source_record``) is taken before the
    records are read: a load that commits in between queues keys this run may not see, and they stay
    for the next one. A queued record whose features already match its hash (changed and changed back)
    is skipped.
    """
    if full:
        conn.execute(sa.text("DELETE FROM core.link_pending"))
        source, where = "core.source_record s", ""
    else:
        conn.execute(sa.text("CREATE TEMPORARY TABLE pending (source_id text, record_key text) ON COMMIT DROP"))
        conn.execute(sa.text("WITH taken AS (DELETE FROM core.link_pending RETURNING source_id, record_key) "
                             "INSERT INTO pending SELECT DISTINCT source_id, record_key FROM taken"))
        conn.execute(sa.text("ANALYZE pending"))
        source = ("pending p JOIN core.source_record s ON s.source_id = p.source_id AND s.record_key = p.record_key "
                  "LEFT JOIN core.link_record f ON f.source_id = s.source_id AND f.record_key = s.record_key")
        where = "WHERE f.record_id IS NULL OR f.row_hash <> s.row_hash"
    # every column read is text: COPY TO reads a million of them several times faster than read_sql;
    # in key order, so record ids and the model's random samples do not depend on how the sources'
    # loads interleaved on disk
    return read_text_frame(conn, f"""
        SELECT s.source_id, s.record_key, s.row_hash, {", ".join("s." + c for c in _SOURCE_COLUMNS.split(", "))}
        FROM {source} {where}
        ORDER BY s.source_id, s.record_key
    """)  # noqa: S608 (only our own column names)


def _pg_array(values: pd.Series, ref: Reference) -> pd.Series:
    """``a|b`` -> the PostgreSQL array literal ``{"a","b"}`` (for COPY), blanks dropped."""
    def literal(v) -> str | None:
        if not isinstance(v, str):
            return None
        return "{" + ",".join('"' + x.replace("\\", "\\\\").replace('"', '\\"') + '"'
                              for x in ref.values(v)) + "}"
    return values.map(literal)


def _cited_keys(features: pd.DataFrame) -> pd.Series:
    """Each record's references as a PostgreSQL array literal (``core.link_record.appeal_ref``), else null."""
    out = pd.Series(None, index=features.index, dtype=object)
    for citing, ref in _references():
        rows = features["source_id"] == citing
        out[rows] = _pg_array(features.loc[rows, ref.field], ref)
    return out


def _store_features(conn: Connection, full: bool) -> pd.DataFrame:
    """Standardise new and changed records; returns their features.

    Full: every record, with ids drawn from the table's sequence; the table is emptied here and written
    once the records' persons are known (:func:`_store_full`). Incremental: upserted into
    ``core.link_record``, so a record keeps its id (and its person); the changed ids go to the temporary
    table ``changed_id``.
    """
    records = _read_records(conn, full)
    features = build_features(records).assign(row_hash=records["row_hash"])
    for col in ("birth_year", "birth_month", "birth_day"):
        features[col] = features[col].astype("Int64")
    features["appeal_ref"] = _cited_keys(features)
    columns = ["source_id", "record_key", "row_hash", *_FEATURES, "appeal_ref"]
    conn.execute(sa.text("CREATE TEMPORARY TABLE changed_id (record_id bigint PRIMARY KEY) ON COMMIT DROP"))
    if full:
        conn.execute(sa.text("TRUNCATE core.link_record, core.link_edge"))
        first = conn.execute(sa.text("SELECT nextval('core.link_record_record_id_seq')")).scalar()
        conn.execute(sa.text("SELECT setval('core.link_record_record_id_seq', :last)"),
                     {"last": first + max(len(features), 1) - 1})
        features["record_id"] = np.arange(first, first + len(features), dtype="int64")
        return features
    if features.empty:
        return features
    conn.execute(sa.text("CREATE TEMPORARY TABLE link_in (LIKE core.link_record INCLUDING DEFAULTS) ON COMMIT DROP"))
    copy_frame(conn, "link_in", columns, features)
    conn.execute(sa.text("ANALYZE link_in"))
    conn.execute(sa.text(f"""
        WITH upserted AS (
            INSERT INTO core.link_record ({", ".join(columns)})
            SELECT {", ".join(columns)} FROM link_in
            ON CONFLICT (source_id, record_key) DO UPDATE SET
                {", ".join(f"{c} = excluded.{c}" for c in ["row_hash", *_FEATURES, "appeal_ref"])}
            RETURNING record_id
        )
        INSERT INTO changed_id SELECT record_id FROM upserted
    """))  # noqa: S608
    conn.execute(sa.text("ANALYZE changed_id"))
    return features


_STORED = ["record_id", "source_id", "record_key", "row_hash", *_FEATURES, "appeal_ref"]


def _store_full(conn: Connection, features: pd.DataFrame, person: np.ndarray) -> None:
    """A full night's features, each with its record's person, in one bulk load."""
    with indexes_after_load(conn, "core.link_record", len(features)) as deferred:
        copy_frame(conn, "core.link_record", [*_STORED, "person_id"], features.assign(person_id=person))
    if not deferred:  # (a deferred load was analysed when its indexes were built)
        _analyze(conn, "core.link_record")


def _store_persons(conn: Connection, records: pd.DataFrame, person: np.ndarray) -> None:
    """An incremental night: the clustered records whose person changed (or who had none) keep it."""
    before = records["person_id"].astype("Float64").to_numpy(dtype="float64", na_value=np.nan)
    moved = before != person  # (NaN: not linked before)
    if moved.any():
        conn.execute(sa.text(
            "UPDATE core.link_record f SET person_id = m.person_id "
            "FROM unnest(CAST(:ids AS bigint[]), CAST(:persons AS bigint[])) AS m (record_id, person_id) "
            "WHERE f.record_id = m.record_id"),
            {"ids": records["record_id"].to_numpy()[moved].tolist(), "persons": person[moved].tolist()})


def _analyze(conn: Connection, table: str) -> None:
    """Fresh planner statistics after a bulk load, where this role may (autovacuum does it otherwise)."""
    if conn.execute(sa.text("SELECT pg_has_role(relowner, 'USAGE') FROM pg_class WHERE oid = CAST(:t AS regclass)"),
                    {"t": table}).scalar():
        conn.execute(sa.text(f"ANALYZE {table}"))


def _side(expression: str, alias: str) -> str:
    """A blocking rule's field (a column, or an expression of one: ``substr(surname_key, 1, 3)``) on one side."""
    if expression.isidentifier():
        return f"{alias}.{expression}"
    return re.sub(r"\b([a-z]+_(?:key|year|date))\b", rf"{alias}.\1", expression)


def _neighbourhood(conn: Connection) -> pd.DataFrame:
    """Features of the changed records and of every record they could be compared with or keyed to."""
    select = f"SELECT f.record_id AS unique_id, f.source_id, f.record_key, {', '.join('f.' + c for c in _FEATURES)}"
    joins = [" AND ".join(f"{_side(c, 'o')} = {_side(c, 'x')}" for c in keys)
             for keys in (*BLOCKING_KEYS, *[(k,) for k in DETERMINISTIC_KEYS])]
    # a rule for records that lack a field, in two lookups: partners of a changed record that lacks it
    # (by the keys' index), and partners that lack it (by the partial index of those records only)
    for missing, keys in BLOCKING_KEYS_IF_MISSING:
        shared = " AND ".join(f"{_side(c, 'o')} = {_side(c, 'x')}" for c in keys)
        joins += [f"{shared} AND x.{missing} IS NULL", f"{shared} AND o.{missing} IS NULL"]
    for citing, ref in _references():  # (source ids are snake_case names: the contracts' schema)
        joins += [f"x.source_id = '{citing}' AND o.source_id = '{ref.source}' AND o.{ref.key} = ANY(x.appeal_ref)",
                  f"x.source_id = '{ref.source}' AND o.source_id = '{citing}' AND o.appeal_ref @> ARRAY[x.{ref.key}]"]
    # x: tonight's changed records, as just written (the temporary table link_in), o: their partners
    head = "SELECT o.record_id FROM link_in x JOIN core.link_record o"
    partners = "\nUNION ".join(f"{head} ON {j}" for j in joins)  # noqa: S608 (our own column names)
    frame = read_text_frame(conn, f"""
        WITH near AS (SELECT record_id FROM changed_id UNION {partners})
        {select}, EXISTS (SELECT 1 FROM changed_id c WHERE c.record_id = f.record_id) AS changed
        FROM core.link_record f JOIN near USING (record_id)
        ORDER BY f.record_id
    """)  # noqa: S608
    return frame.astype({"unique_id": "int64", "birth_year": "Int64", "birth_month": "Int64",
                         "birth_day": "Int64"}).assign(changed=frame["changed"] == "t")


# --- 2./3. scoring and the stored edges ---------------------------------------------------------------

def _model(conn: Connection, night: dt.date, retrain_days: int) -> Model | None:
    """The newest stored model, unless it is too old or compares other fields than this code does."""
    row = conn.execute(sa.text("SELECT settings, term_frequencies, trained_on FROM core.linkage_model "
                               "ORDER BY model_id DESC LIMIT 1")).first()
    if row is None or (night - row.trained_on).days >= retrain_days:
        return None
    if comparisons(row.settings) != comparisons():
        return None
    return Model(row.settings, row.term_frequencies)


def _replace_edges(conn: Connection, night: dt.date, det: pd.DataFrame, strong: pd.DataFrame,
                   full: bool) -> pd.DataFrame:
    """Drop the edges of changed records and store tonight's (both ends ordered l < r); returns them."""
    edges = pd.concat([
        pd.DataFrame({"l": det["l"], "r": det["r"], "rule": det["rule"], "match_probability": np.nan,
                      "match_weight": np.nan, "explanation": "{}"}),
        pd.DataFrame({"l": strong["unique_id_l"], "r": strong["unique_id_r"], "rule": "splink",
                      "match_probability": strong["match_probability"], "match_weight": strong["match_weight"],
                      "explanation": _explain(strong)}),
    ], ignore_index=True)
    lo, hi = np.minimum(edges["l"], edges["r"]), np.maximum(edges["l"], edges["r"])
    edges = edges.assign(l=lo, r=hi, night=night).drop_duplicates(["l", "r", "rule"])
    if not full:  # (a full night emptied the table with link_record)
        conn.execute(sa.text("DELETE FROM core.link_edge e USING changed_id c WHERE e.l = c.record_id"))
        conn.execute(sa.text("DELETE FROM core.link_edge e USING changed_id c WHERE e.r = c.record_id"))
    with indexes_after_load(conn, "core.link_edge", len(edges) if full else 0) as deferred:
        copy_frame(conn, "core.link_edge",
                   ["l", "r", "rule", "match_probability", "match_weight", "explanation", "night"], edges)
    if full and not deferred:
        _analyze(conn, "core.link_edge")
    return edges


def _queue_for_review(conn: Connection, night: dt.date, uncertain: pd.DataFrame, f: pd.DataFrame) -> None:
    """Pairs between the thresholds, not yet decided, both records side by side via their keys."""
    if uncertain.empty:
        return
    queue = uncertain.merge(f[["unique_id", "source_id", "record_key"]], left_on="unique_id_l",
                            right_on="unique_id").merge(
        f[["unique_id", "source_id", "record_key"]], left_on="unique_id_r", right_on="unique_id",
        suffixes=("_a", "_b"))
    if queue.empty:
        return
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


# --- 4. clusters of the affected persons --------------------------------------------------------------

_REVIEWED = """
    SELECT a.record_id AS l, b.record_id AS r, p.decision
    FROM core.review_pair p
    JOIN core.link_record a ON a.source_id = p.left_source_id AND a.record_key = p.left_record_key
    JOIN core.link_record b ON b.source_id = p.right_source_id AND b.record_key = p.right_record_key
    WHERE p.decision IS NOT NULL
"""


def _affected_records(conn: Connection) -> None:
    """``affected``: every record of every person a changed record, a new edge or a decision touches.

    Closed under the stored edges and the persons (``core.link_record.person_id``), so clustering these
    records alone gives what clustering all would. Breadth first: each record's edges and each person's
    records are looked up once.
    """
    conn.execute(sa.text("CREATE TEMPORARY TABLE affected (record_id bigint PRIMARY KEY) ON COMMIT DROP"))
    conn.execute(sa.text("CREATE TEMPORARY TABLE affected_person (person_id bigint PRIMARY KEY) ON COMMIT DROP"))
    conn.execute(sa.text(f"""
        INSERT INTO affected
        SELECT record_id FROM changed_id
        UNION SELECT unnest(ARRAY[d.l, d.r]) FROM ({_REVIEWED}) d
    """))  # noqa: S608
    # grow from the frontier (what the last round added) until a round adds nothing
    conn.execute(sa.text("CREATE TEMPORARY TABLE frontier ON COMMIT DROP AS SELECT record_id FROM affected"))
    while True:
        conn.execute(sa.text("ANALYZE frontier"))
        added = conn.execute(sa.text("""
            WITH person AS (  -- the frontier's persons not yet taken in
                INSERT INTO affected_person
                SELECT DISTINCT f.person_id FROM frontier a JOIN core.link_record f USING (record_id)
                WHERE f.person_id IS NOT NULL
                ON CONFLICT DO NOTHING
                RETURNING person_id
            )
            INSERT INTO affected
            SELECT f.record_id FROM person p JOIN core.link_record f ON f.person_id = p.person_id
            UNION SELECT e.r FROM core.link_edge e JOIN frontier a ON e.l = a.record_id
            UNION SELECT e.l FROM core.link_edge e JOIN frontier a ON e.r = a.record_id
            ON CONFLICT DO NOTHING
            RETURNING record_id
        """)).scalars().all()
        if not added:
            return
        conn.execute(sa.text("TRUNCATE frontier"))
        conn.execute(sa.text("INSERT INTO frontier SELECT unnest(CAST(:ids AS bigint[]))"), {"ids": added})


def _affected_frames(conn: Connection) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The affected records with their current link, and every stored edge among them."""
    _affected_records(conn)
    records = pd.read_sql(sa.text("""
        SELECT f.record_id, f.source_id, f.record_key, f.rnokpp, l.person_id, l.rule, l.match_probability
        FROM affected a JOIN core.link_record f USING (record_id)
        LEFT JOIN core.person_link l ON l.source_id = f.source_id AND l.record_key = f.record_key
        ORDER BY f.record_id
    """), conn)
    edges = pd.read_sql(sa.text("""
        SELECT e.l, e.r, e.rule, e.match_probability, e.match_weight, e.explanation::text AS explanation
        FROM core.link_edge e JOIN affected a ON a.record_id = e.l
    """), conn)
    return records, edges


def _all_records(conn: Connection, features: pd.DataFrame) -> pd.DataFrame:
    """A full night: every record (from memory) with its current link."""
    links = pd.read_sql(sa.text("SELECT source_id, record_key, person_id, rule, match_probability "
                                "FROM core.person_link"), conn)
    return features[["record_id", "source_id", "record_key", "rnokpp"]].merge(links, on=["source_id", "record_key"],
                                                                               how="left")


def _reviewed(conn: Connection, records: pd.DataFrame) -> pd.DataFrame:
    """The reviewers' decisions on pairs of ``records``, as ``l, r`` (record ids) and ``decision``.

    Matched by key in memory: on a full night ``core.link_record`` is written after clustering.
    """
    decided = pd.read_sql(sa.text("SELECT left_source_id, left_record_key, right_source_id, right_record_key, "
                                  "decision FROM core.review_pair WHERE decision IS NOT NULL"), conn)
    named = records[records["record_key"].isin(pd.concat([decided["left_record_key"], decided["right_record_key"]]))]
    named = named[["source_id", "record_key", "record_id"]]
    pairs = decided.merge(named, left_on=["left_source_id", "left_record_key"],
                          right_on=["source_id", "record_key"]).rename(columns={"record_id": "l"})
    pairs = pairs[["l", "right_source_id", "right_record_key", "decision"]].merge(
        named, left_on=["right_source_id", "right_record_key"], right_on=["source_id", "record_key"])
    return pairs.rename(columns={"record_id": "r"})[["l", "r", "decision"]]


def _cluster(conn: Connection, records: pd.DataFrame, edges: pd.DataFrame
             ) -> tuple[clusters.Assignment, pd.DataFrame]:
    """Cluster ``records`` (closed under ``edges``) into persons with stable ids.

    Returns the assignment (each record's person, the new persons, merges and splits) and the edges that
    hold inside a person (the reviewers' "same" decisions added as edges, those a "different" cut dropped),
    as ``l, r, rule, p`` (probability), ``w`` (weight), ``x`` (explanation).
    """
    edges = edges.rename(columns={"match_probability": "p", "match_weight": "w", "explanation": "x"})
    edges = edges[["l", "r", "rule", "p", "w", "x"]]
    reviewed = _reviewed(conn, records)
    same = reviewed[reviewed["decision"] == "same"]
    different = reviewed[reviewed["decision"] == "different"]
    edges = pd.concat([edges, pd.DataFrame({"l": same["l"], "r": same["r"], "rule": "review_same", "p": np.nan,
                                            "w": np.nan, "x": "{}"})], ignore_index=True)

    position = pd.Series(np.arange(len(records)), index=records["record_id"].to_numpy())
    left, right = position[edges["l"]].to_numpy(), position[edges["r"]].to_numpy()
    order = edges["rule"].map(RULE_ORDER).to_numpy() * 2.0 - edges["p"].fillna(0).to_numpy()  # splink: p desc
    # apart: what reviewers called different, and records with different RNOKPPs unless a reviewer (or a
    # chain of reviewers' "same" and shared numbers) joined them
    apart_l, apart_r = clusters.different_keys(clusters.components(len(records), left, right), records["rnokpp"])
    joined = edges["rule"].isin(["review_same", "rnokpp"]).to_numpy()
    joined = clusters.components(len(records), left[joined], right[joined])
    apart_l, apart_r = apart_l[joined[apart_l] != joined[apart_r]], apart_r[joined[apart_l] != joined[apart_r]]
    labels = clusters.constrained_components(
        len(records), left, right, order, np.concatenate([position[different["l"]].to_numpy(), apart_l]),
        np.concatenate([position[different["r"]].to_numpy(), apart_r]))
    # an edge the reviewers' "different" cut is no reason for a record's link
    edges = edges[labels[left] == labels[right]]

    next_val = conn.execute(sa.text("SELECT COALESCE(max(person_id), 0) FROM core.person")).scalar()
    counter = iter(range(next_val + 1, next_val + 2 + len(records)))
    return clusters.assign_person_ids(labels, records["person_id"], lambda: next(counter)), edges


def _write_links(conn: Connection, night: dt.date, dag_run_id: str | None, records: pd.DataFrame,
                 edges: pd.DataFrame, assignment: clusters.Assignment) -> int:
    """Store the new persons and each record's link (person, the rule that brought it in); returns how many
    links were written. A record whose person, rule and probability stand keeps its row (and its night)."""
    person = assignment.person_of_record.to_numpy()
    # the rule that brought each record in: its strongest edge (a reviewer's, then deterministic, then p)
    ranked = edges.assign(order=edges["rule"].map(RULE_ORDER))
    both = pd.concat([ranked.rename(columns={"l": "uid"}), ranked.rename(columns={"r": "uid"})])
    best = both.sort_values(["uid", "order", "p"], ascending=[True, True, False]).drop_duplicates("uid")
    best = best.set_index("uid")
    links = pd.DataFrame({
        "source_id": records["source_id"], "record_key": records["record_key"], "person_id": person,
        "rule": records["record_id"].map(best["rule"]).fillna("single"),
        "match_probability": records["record_id"].map(best["p"]),
        "match_weight": records["record_id"].map(best["w"]),
        "explanation": records["record_id"].map(best["x"]).fillna("{}"),
        "linked_on": night, "dag_run_id": dag_run_id,
    })
    same_row = ((records["person_id"] == links["person_id"]) & (records["rule"] == links["rule"])
                & (records["match_probability"].fillna(-1) == links["match_probability"].fillna(-1)))
    was_linked = records["person_id"].notna()
    relinked = links[~same_row.fillna(False).to_numpy()]

    copy_frame(conn, "core.person", ["person_id", "created_on"],
               pd.DataFrame({"person_id": assignment.new_persons, "created_on": night}))
    stale = relinked[was_linked[~same_row.fillna(False)].to_numpy()]
    if len(stale):
        conn.execute(sa.text("CREATE TEMPORARY TABLE relinked (source_id text, record_key text) ON COMMIT DROP"))
        copy_frame(conn, "relinked", ["source_id", "record_key"], stale)
        conn.execute(sa.text("DELETE FROM core.person_link l USING relinked r "
                             "WHERE l.source_id = r.source_id AND l.record_key = r.record_key"))
    with indexes_after_load(conn, "core.person_link", len(relinked)):
        copy_frame(conn, "core.person_link", ["source_id", "record_key", "person_id", "rule", "match_probability",
                                              "match_weight", "explanation", "linked_on", "dag_run_id"], relinked)
    return len(relinked)


def _write_events(conn: Connection, night: dt.date, dag_run_id: str | None,
                  assignment: clusters.Assignment) -> None:
    """Log the night's merges and splits in ``core.person_event``; retire the persons a merge absorbed."""
    events = [{"kind": "merge", "person_id": k, "other_person_id": o, "records": n}
              for k, o, n in assignment.merges]
    events += [{"kind": "split", "person_id": o, "other_person_id": k, "records": n}
               for o, k, n in assignment.splits]
    if events:  # a rerun of the night finds nothing to move and keeps what the first run logged
        conn.execute(sa.text("CREATE TEMPORARY TABLE event_in (night date, kind text, person_id bigint, "
                             "other_person_id bigint, records integer, dag_run_id text) ON COMMIT DROP"))
        copy_frame(conn, "event_in", ["night", "kind", "person_id", "other_person_id", "records", "dag_run_id"],
                   pd.DataFrame(events).assign(night=night, dag_run_id=dag_run_id))
        conn.execute(sa.text(
            "INSERT INTO core.person_event (night, kind, person_id, other_person_id, records, dag_run_id) "
            "SELECT night, kind, person_id, other_person_id, records, dag_run_id FROM event_in "
            "ON CONFLICT (night, kind, person_id, other_person_id) DO NOTHING"))
    alive = set(assignment.person_of_record.tolist())
    for keeper, absorbed, _ in assignment.merges:
        if absorbed not in alive:
            conn.execute(sa.text("UPDATE core.person SET merged_into = :k, retired_on = :n WHERE person_id = :a"),
                         {"k": keeper, "n": night, "a": absorbed})


def resolve_persons(engine: Engine, night: dt.date, dag_run_id: str | None = None,
                    upper: float = UPPER, lower: float = LOWER, full: bool = False, retrain: bool = False) -> dict:
    """Link new and changed records to persons and keep person ids stable; returns counts for the log.

    ``full``: score every pair again (with the stored model); ``retrain``: train the model again first
    (implies ``full``). Both happen by themselves when there is no model yet or it has grown too old.
    """
    from ridni.config import settings
    from ridni.linkage.model import score, train

    with engine.begin() as conn:
        # one resolution at a time: two would both think they own tonight's changes
        conn.execute(sa.text("LOCK TABLE core.link_record IN SHARE ROW EXCLUSIVE MODE"))
        conn.execute(sa.text("SET LOCAL jit = off"))  # compiling costs seconds; these queries run in less
        # a night's lookups touch a few per cent of tables that sit in memory: index probes are cheap
        conn.execute(sa.text("SET LOCAL random_page_cost = 1.1"))
        model = None if retrain else _model(conn, night, settings().linkage_retrain_days)
        # the unlogged link tables are empty after a crash (or never filled): rebuild them in full
        empty = conn.execute(sa.text("SELECT NOT EXISTS (SELECT 1 FROM core.link_record)")).scalar()
        full = full or model is None or empty
        features = _store_features(conn, full)
        changed = len(features)
        if full:
            f = features.rename(columns={"record_id": "unique_id"}).assign(changed=True)
        else:
            f = _neighbourhood(conn) if changed else pd.DataFrame()
        det = deterministic_edges(f) if changed else pd.DataFrame(columns=["l", "r", "rule"])
        if model is None and not f.empty:
            model = train(f, deterministic_rules=[f"l.{k} = r.{k}" for k in DETERMINISTIC_KEYS])
            conn.execute(sa.text("INSERT INTO core.linkage_model (trained_on, records, settings, term_frequencies) "
                                 "VALUES (:n, :c, CAST(:s AS jsonb), CAST(:tf AS jsonb))"),
                         {"n": night, "c": len(f), "s": json.dumps(model.settings),
                          "tf": json.dumps(model.term_frequencies, ensure_ascii=False)})
        pairs = score(f, model, threshold=lower, changed_only=not full).pairs if changed else pd.DataFrame(
            columns=["unique_id_l", "unique_id_r", "match_probability", "match_weight"])
        strong = pairs[pairs["match_probability"] >= upper]
        uncertain = pairs[(pairs["match_probability"] < upper) & (pairs["match_probability"] >= lower)]
        edges = _replace_edges(conn, night, det, strong, full)
        _queue_for_review(conn, night, uncertain, f)
        if full:  # every record and every link are already in memory
            records = _all_records(conn, features)
        else:
            records, edges = _affected_frames(conn)
        assignment, kept = _cluster(conn, records, edges)
        person = assignment.person_of_record.to_numpy()
        if full:  # (features in the order drawn, the records as clustered)
            _store_full(conn, features, pd.Series(person, index=records["record_id"].to_numpy())
                        .reindex(features["record_id"].to_numpy()).to_numpy())
        else:
            _store_persons(conn, records, person)
        relinked = _write_links(conn, night, dag_run_id, records, kept, assignment)
        _write_events(conn, night, dag_run_id, assignment)
        totals = conn.execute(sa.text(
            "SELECT count(*) AS records, count(DISTINCT person_id) AS persons FROM core.person_link")).one()
    result = {"mode": "full" if full else "incremental", "records": totals.records, "persons": totals.persons,
              "changed_records": changed, "compared_records": len(f), "deterministic_edges": len(det),
              "splink_links": len(strong), "review_pairs": len(uncertain), "pairs_above_lower": len(pairs),
              "clustered_records": len(records), "relinked_records": relinked,
              "new_persons": len(assignment.new_persons), "merges": len(assignment.merges),
              "splits": len(assignment.splits)}
    log.info("resolved persons: %s", result)
    return result

