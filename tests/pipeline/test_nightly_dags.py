"""The whole chain through Airflow itself (dag.test per DAG): drops to exports, two nights, a rerun that
changes nothing, a backfill, and figures checked against the generator's ground truth."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pandas as pd
import pytest
import sqlalchemy as sa

from ridni.demo import run_nightly_dags

pytestmark = pytest.mark.dag

MARTS = ["category_counts", "category_totals", "headline", "change_log", "reconciliation", "review_queue_size"]


def _digest(engine, night) -> dict:
    out = {}
    with engine.connect() as conn:
        for table in MARTS:
            rows = conn.execute(sa.text(f"SELECT * FROM marts.{table} WHERE night = :n"), {"n": night}).all()  # noqa: S608
            out[table] = hashlib.sha256(repr(sorted(map(repr, rows))).encode()).hexdigest()
        out["persons"] = conn.execute(sa.text("SELECT count(*) FROM core.person")).scalar()
    return out


def _files(folder) -> dict:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_two_nights_through_the_dags_then_a_rerun_and_a_backfill(night_env, fresh_warehouse, airflow_db, tmp_path):
    url, engine = fresh_warehouse
    synth = night_env(persons=1500, nights=2)
    exports = tmp_path / "exports"
    for night in synth.nights:
        states = run_nightly_dags(url, night)
        assert set(states.values()) == {"success"}, states
        assert len(states) == 10

    first = {n: _digest(engine, n) for n in synth.nights}
    files = {n: _files(exports / n.isoformat()) for n in synth.nights}
    for night, content in files.items():
        manifest = json.loads(content["manifest.json"])
        assert manifest["night"] == night.isoformat()
        for entry in manifest["files"]:
            assert hashlib.sha256(content[entry["name"]]).hexdigest() == entry["sha256"]
        assert {"counts.csv", "counts.xlsx", "counts.parquet", "change_log.csv", "change_log.xlsx",
                "change_log.parquet", "headline.csv", "reconciliation.csv", "summary.html"} <= set(content)

    # the headline against the ground truth (linkage is probabilistic: within 5% per group)
    with engine.connect() as conn:
        headline = dict(conn.execute(sa.text("SELECT grp, count_value FROM marts.headline WHERE night = :n"),
                                     {"n": synth.nights[-1]}).all())
    truth = synth.counts[synth.nights[-1]]["headline"]
    for group, expected in truth.items():
        if expected >= 20:
            assert abs(headline[group] - expected) <= max(3, 0.05 * expected), (group, headline[group], expected)

    # a real rerun of the last night (new DAG runs): identical marts, byte-identical exports
    night2 = synth.nights[-1]
    states = run_nightly_dags(url, night2, at=dt.time(4))
    assert set(states.values()) == {"success"}
    assert _digest(engine, night2) == first[night2]
    assert _files(exports / night2.isoformat()) == files[night2]

    # backfill: the past nights again, in order; the same marts and files
    for night in synth.nights:
        assert set(run_nightly_dags(url, night, at=dt.time(5)).values()) == {"success"}
    for night in synth.nights:
        assert _digest(engine, night) == first[night], night
        assert _files(exports / night.isoformat()) == files[night], night

    # moves out of missing are listed first in the change log export
    log = pd.read_csv(exports / night2.isoformat() / "change_log.csv")
    assert list(log.columns)[:2] == ["pseudo_id", "change"]
    assert log["pseudo_id"].str.startswith("P-").all()
