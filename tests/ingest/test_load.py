"""The load's fast paths give what the straightforward forms give: row hashes, the rows worth staging,
the last line of each record, the merge into core and the withdrawals of absent records."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

import ridni.ingest.load as load
from ridni.ingest.run import ingest_source

START = dt.date(2026, 11, 1)


# ------------------------------------------------------------------------------------------ row hash
def reference_row_hash(rows: pd.DataFrame) -> pd.Series:
    """The row hash as first defined: every cell as text, hashed by pandas, 16 hex digits."""
    content = rows[["record_key", *load.CANONICAL_FIELDS, "attributes"]].astype("string").fillna("\x00")
    return pd.util.hash_pandas_object(content, index=False).map("{:016x}".format)


def canonical_frame(n: int, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    pick = lambda values: [values[i] for i in rng.integers(0, len(values), n)]  # noqa: E731
    frame = pd.DataFrame({f: pd.Series([None] * n, dtype=object) for f in load.CANONICAL_FIELDS})
    frame["record_key"] = pd.Series([f"K{i:05d}" for i in range(n)], dtype="str")
    frame["surname"] = pd.Series(pick(["Петренко", "Коваль", None, "", "\x00", "Д'яченко"]), dtype="str")
    frame["first_name"] = pd.Series(pick(["Іван", None, "Olena"]), dtype=object)  # object column of strings
    frame["birth_date"] = pd.Series(pick(["1990-05-12", "1985", None]), dtype="str")
    frame["status_date"] = pd.to_datetime(pd.Series(pick(["2022-03-05", None, "1969-12-31"]))).astype("datetime64[us]")
    frame["registered_on"] = pd.to_datetime(pd.Series(pick(["2022-03-05 10:11:12", None, "2022-03-06"])),
                                            format="ISO8601") \
        .astype("datetime64[us]")
    stamps = rng.integers(-2_000_000_000_000_000, 2_000_000_000_000_000, n)
    stamps[::2] -= stamps[::2] % 1_000_000  # some whole seconds among the microseconds
    frame["changed_at"] = pd.Series(stamps.astype("datetime64[us]")).dt.tz_localize("UTC").where(
        rng.random(n) > 0.2)
    frame["attributes"] = pd.Series([json.dumps({"x": i % 7}) for i in range(n)], dtype="str")
    return frame


@pytest.mark.parametrize("variant", ["as parsed", "ms", "seconds", "other zone", "numbers", "gaps in index"])
def test_the_row_hash_is_the_hash_of_every_cell_as_text(variant):
    frame = canonical_frame(400)
    if variant == "ms":
        frame["changed_at"] = frame["changed_at"].dt.floor("ms")
    elif variant == "seconds":
        frame["changed_at"] = frame["changed_at"].dt.floor("s").astype("datetime64[s, UTC]")
    elif variant == "other zone":
        frame["changed_at"] = frame["changed_at"].dt.tz_convert("Europe/Kyiv")
    elif variant == "numbers":  # not text in a text field: converted cell by cell, 0.0 and -0.0 apart
        frame["service_no"] = pd.Series([0.0, -0.0, 1.5, None] * 100, dtype="Float64")
        frame["rnokpp"] = pd.Series([1, 2, None, 1] * 100, dtype="Int64")
        frame["sex"] = pd.Series([True, False, None, True] * 100, dtype="boolean")
    elif variant == "gaps in index":
        frame = frame.iloc[::3]
    got = load._with_row_hash(frame)["row_hash"]
    pd.testing.assert_series_equal(got, reference_row_hash(frame).astype("str"), check_names=False)
    assert got.index.equals(frame.index)


def test_hash_combination_agrees_with_pandas():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({c: rng.integers(0, 1 << 40, 50) for c in "abcde"})
    hashes = [pd.util.hash_pandas_object(frame[c], index=False).to_numpy() for c in frame]
    assert (load._combine_hashes(hashes, 50) == pd.util.hash_pandas_object(frame, index=False).to_numpy()).all()


def test_a_staging_frame_keeps_attributes_given_as_objects():
    rows = canonical_frame(5)
    rows["attributes"] = pd.Series([{"b": 1, "a": "ї"}, None, "{}", {}, '{"z":1}'], dtype=object)
    staged = load._staging_frame(rows, 9)
    assert staged["attributes"].tolist() == ['{"a": "ї", "b": 1}', "{}", "{}", "{}", '{"z":1}']
    assert (staged["load_id"] == 9).all() and staged["row_hash"].str.len().eq(16).all()


# ------------------------------------------------------------------------------------------ what is staged
def reference_news(standing: pd.DataFrame, good: pd.DataFrame) -> pd.DataFrame:
    if standing.empty:
        return good
    last = good.drop_duplicates("record_key", keep="last")
    same = last["record_key"].map(standing.set_index("record_key")["row_hash"]) == last["row_hash"]
    return last[~same.fillna(False).to_numpy()]


def test_only_new_and_changed_records_are_staged_their_last_line_only():
    rng = np.random.default_rng(5)
    keys = [f"R{i}" for i in rng.integers(0, 300, 1000)]  # repeated keys: several lines per record
    good = pd.DataFrame({"line_no": np.arange(2, 1002), "record_key": pd.Series(keys, dtype="str"),
                         "row_hash": pd.Series([f"{h:016x}" for h in rng.integers(0, 4, 1000)], dtype="str")},
                        index=np.arange(0, 3000, 3))
    standing = pd.DataFrame({"record_key": pd.Series([f"R{i}" for i in range(0, 400, 2)], dtype="str"),
                             "row_hash": pd.Series([f"{h:016x}" for h in rng.integers(0, 4, 200)], dtype="str")})
    got = load._news(standing, good)
    pd.testing.assert_frame_equal(got, reference_news(standing, good))
    assert 0 < len(got) < good["record_key"].nunique()
    assert load._news(standing.iloc[:0], good) is good


def test_superseded_lines_are_all_but_the_last_of_each_record():
    staged = pd.DataFrame({"line_no": [9, 2, 5, 7, 3, 11], "record_key": ["a", "a", "b", "a", "c", "b"]})
    assert load._superseded(staged) == [2, 5, 7]
    assert load._superseded(staged.iloc[:0]) == []


# ------------------------------------------------------------------------------------------ merge and withdrawals
def reference_merge(conn, source_id, night, load_id, superseded):
    """The last line of each record found as first written, by DISTINCT ON over the load's staged rows
    (not from the staged frame), then merged."""
    superseded = conn.execute(sa.text("""
        SELECT line_no FROM staging.record WHERE load_id = :l
        EXCEPT (SELECT DISTINCT ON (record_key) line_no FROM staging.record WHERE load_id = :l
                ORDER BY record_key, line_no DESC)
    """), {"l": load_id}).scalars().all()
    return REAL_MERGE(conn, source_id, night, load_id, sorted(superseded))


def reference_absent(standing_before, seen_keys):
    """The absent keys as first found: by Python sets."""
    return pd.Series(sorted(set(standing_before["record_key"]) - set(seen_keys)), dtype="str")


REAL_MERGE = load._merge_into_core
TABLES = ["staging.record", "core.source_record", "core.source_record_version"]


def contents(engine) -> dict:
    out = {}
    with engine.connect() as conn:
        for t in TABLES:
            digest = "md5(coalesce(string_agg(to_jsonb(x)::text, ',' ORDER BY to_jsonb(x)::text), ''))"
            out[t] = conn.execute(sa.text(f"SELECT count(*), {digest} FROM {t} x")).one()  # noqa: S608
        out["changes"] = dict(conn.execute(sa.text(
            "SELECT change, count(*) FROM core.source_record_version GROUP BY change")).all())
    return out


def test_the_merge_and_withdrawals_write_what_the_first_forms_wrote(night_env, make_database, monkeypatch):
    """Two nights of every source (the register's deltas repeat entries within a file; snapshots change,
    drop and bring back records), loaded once as the code does and once with the first forms."""
    from ridni import db

    synth = night_env(persons=300, nights=3)
    results = []
    for reference in (False, True):
        if reference:
            monkeypatch.setattr(load, "_merge_into_core", reference_merge)
            monkeypatch.setattr(load, "_absent_keys", reference_absent)
        url = make_database()
        db.upgrade(url)
        engine = db.make_engine(url)
        for night in synth.nights:
            for source_id in sorted({d.source_id for d in synth.drops}):
                ingest_source(engine, source_id, night)
        results.append(contents(engine))
        engine.dispose()
    assert results[0] == results[1]
    assert {"new", "changed", "withdrawn"} <= set(results[0]["changes"]), results[0]["changes"]
