"""The nightly decision is incremental: after the first night only persons whose evidence or links moved
are decided again, and the result equals deciding everyone."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import sqlalchemy as sa

from ridni.decide.run import decide_night
from ridni.ingest.run import ingest_night
from ridni.linkage.run import resolve_persons
from ridni.publish.marts import build_marts

COLUMNS = ["person_id", "category", "situation", "person_type", "icrc_confirmed", "rule", "evidence_source_id",
           "evidence_record_key", "kind_rule", "kind_source_id", "kind_record_key", "review", "valid_from"]


CURRENT = f"SELECT {', '.join(COLUMNS)} FROM core.person_status WHERE valid_to IS NULL ORDER BY person_id"  # noqa: S608


def _current(engine) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(sa.text(CURRENT), conn)


def _evidence(engine) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(sa.text("SELECT person_id, source_id, record_key, category FROM core.evidence "
                                   "ORDER BY person_id, source_id, record_key"), conn)


def _reconciliation_parts(engine) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(sa.text("SELECT * FROM core.reconciliation_person ORDER BY person_id, source_id, category"),
                           conn)


def test_the_second_night_decides_only_what_moved_and_equals_deciding_everyone(night_env, fresh_warehouse):
    _, engine = fresh_warehouse
    synth = night_env(persons=800, nights=2)
    first, second = synth.nights
    list(ingest_night(engine, first))
    resolve_persons(engine, first)
    assert decide_night(engine, first)["mode"] == "full"

    list(ingest_night(engine, second))
    resolve_persons(engine, second)
    result = decide_night(engine, second)
    assert result["mode"] == "incremental"
    with engine.connect() as conn:
        everyone = conn.execute(sa.text("SELECT count(DISTINCT person_id) FROM core.person_link")).scalar()
    assert 0 < result["persons"] < 0.5 * everyone, result
    incremental, evidence, parts = _current(engine), _evidence(engine), _reconciliation_parts(engine)
    assert len(parts) > 0

    again = decide_night(engine, second)  # a rerun of the night decides everyone again: same answer
    assert again["mode"] == "full" and again["persons"] >= everyone
    pd.testing.assert_frame_equal(_current(engine), incremental)
    pd.testing.assert_frame_equal(_evidence(engine), evidence)
    # each person's part of the reconciliation, kept up by the incremental night, is what deciding all gives
    pd.testing.assert_frame_equal(_reconciliation_parts(engine), parts)


def test_a_person_merged_into_another_is_no_longer_counted(night_env, fresh_warehouse):
    _, engine = fresh_warehouse
    synth = night_env(persons=400, nights=1)
    night = synth.nights[0]
    list(ingest_night(engine, night))
    resolve_persons(engine, night)
    decide_night(engine, night)
    build_marts(engine, night, threshold=0)
    with engine.begin() as conn:
        # a reviewer says two persons who are both counted as missing are one
        a, b = conn.execute(sa.text("""
            SELECT l.source_id, l.record_key FROM core.person_link l
            JOIN core.person_status s ON s.person_id = l.person_id AND s.valid_to IS NULL
            WHERE s.category = 'missing'
              AND (SELECT count(*) FROM core.person_link x WHERE x.person_id = l.person_id) = 1
            ORDER BY l.source_id, l.record_key LIMIT 2""")).all()
        conn.execute(sa.text(
            "INSERT INTO core.review_pair (left_source_id, left_record_key, right_source_id, right_record_key, "
            "match_probability, decision, decided_by, decided_at, first_queued_on, last_seen_on) "
            "VALUES (:ls, :lk, :rs, :rk, 0.6, 'same', 'reviewer-1', now(), :n, :n)"),
            {"ls": a.source_id, "lk": a.record_key, "rs": b.source_id, "rk": b.record_key, "n": night})
        before = conn.execute(sa.text("SELECT count_value FROM marts.category_totals "
                                      "WHERE night = :n AND category = 'missing'"), {"n": night}).scalar()
    following = night + dt.timedelta(days=1)
    linked = resolve_persons(engine, following)
    assert linked["merges"] == 1
    decide_night(engine, following)
    build_marts(engine, following, threshold=0)
    with engine.connect() as conn:
        after = conn.execute(sa.text("SELECT count_value FROM marts.category_totals "
                                     "WHERE night = :n AND category = 'missing'"), {"n": following}).scalar()
        absorbed = conn.execute(sa.text(
            "SELECT s.category, s.rule FROM core.person p JOIN core.person_status s USING (person_id) "
            "WHERE p.merged_into IS NOT NULL AND s.valid_to IS NULL")).one()
    assert after == before - 1
    assert absorbed.category is None and absorbed.rule == "no_linked_records"
