"""The whole chain through Airflow itself: drops to exports, two nights, a rerun that changes nothing, a
backfill, and figures checked against the generator's ground truth.

The ingest DAGs run at the night's date (``dag.test``); ``resolve_persons`` and ``publish_hq`` run as their
assets trigger them, today, with the night the asset events carry (``ridni_dev.demo.run_nightly_dags``)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pandas as pd
import pytest
import sqlalchemy as sa

from ridni_dev.demo import run_nightly_dags

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


def _last_downstream_runs() -> dict[str, tuple[str, list[str], list[str]]]:
    """Each downstream DAG's last run: its type, the nights its triggering events carried, the nights its
    own asset events carry."""
    from airflow.models.asset import AssetEvent
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    out = {}
    with create_session() as session:
        for dag_id in ("resolve_persons", "publish_hq"):
            run = session.scalars(sa.select(DagRun).where(DagRun.dag_id == dag_id)
                                  .order_by(DagRun.id.desc()).limit(1)).one()
            emitted = session.scalars(sa.select(AssetEvent).where(AssetEvent.source_dag_id == dag_id,
                                                                  AssetEvent.source_run_id == run.run_id)).all()
            out[dag_id] = (str(run.run_type), sorted({e.extra.get("night") for e in run.consumed_asset_events}),
                           sorted({e.extra.get("night") for e in emitted}))
    return out


def _published_at(engine) -> dict:
    with engine.connect() as conn:
        return dict(conn.execute(sa.text("SELECT night, published_at FROM audit.publication")).all())


def test_two_nights_through_the_dags_then_a_rerun_and_a_backfill(night_env, fresh_warehouse, airflow_db, tmp_path):
    url, engine = fresh_warehouse
    synth = night_env(persons=1500, nights=2)
    exports = tmp_path / "exports"
    for night in synth.nights:
        states = run_nightly_dags(url, night)
        assert set(states.values()) == {"success"}, states
        assert len(states) == 10
        # both downstream DAGs ran on their assets, for the night the events carried
        assert _last_downstream_runs() == {dag_id: ("asset_triggered", [night.isoformat()], [night.isoformat()])
                                           for dag_id in ("resolve_persons", "publish_hq")}

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

    # backfill: the past nights again, in order, the runs a month later; each night is published again
    # (not the day the runs happen on), with the same marts and files
    for night in synth.nights:
        before = _published_at(engine)
        assert set(run_nightly_dags(url, night, at=dt.time(5)).values()) == {"success"}
        assert _last_downstream_runs()["publish_hq"] == ("asset_triggered", [night.isoformat()], [night.isoformat()])
        after = _published_at(engine)
        assert after[night] > before[night] and set(after) == set(synth.nights)
        assert {n: t for n, t in after.items() if n != night} == {n: t for n, t in before.items() if n != night}
    assert sorted(p.name for p in exports.iterdir()) == [n.isoformat() for n in synth.nights]
    for night in synth.nights:
        assert _digest(engine, night) == first[night], night
        assert _files(exports / night.isoformat()) == files[night], night

    # moves out of missing are listed first in the change log export
    log = pd.read_csv(exports / night2.isoformat() / "change_log.csv")
    assert list(log.columns)[:2] == ["pseudo_id", "change"]
    assert log["pseudo_id"].str.startswith("P-").all()
