"""A drop with quarantined rows is visible in Airflow without opening a log: the source's asset event carries
the drop's counts, and the ingest DAG's ``check_quarantine`` task fails above the contract's
``max_quarantine_share`` (with an alert through the tasks' notifier), while the good rows stay loaded."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from ridni.contracts import load
from ridni_dev.demo import run_dag

pytestmark = pytest.mark.dag


def _last_run(dag_id: str):
    """The DAG's last run: its task states and the extra of the asset events it emitted."""
    from airflow.models.asset import AssetEvent
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        run = session.scalars(sa.select(DagRun).where(DagRun.dag_id == dag_id).order_by(DagRun.id.desc())
                              .limit(1)).one()
        states = {ti.task_id: str(getattr(ti.state, "value", ti.state)) for ti in run.get_task_instances(session=session)}
        events = [e.extra for e in session.scalars(sa.select(AssetEvent).where(
            AssetEvent.source_dag_id == dag_id, AssetEvent.source_run_id == run.run_id))]
    return states, events


def _staging_counts(engine, source_id: str) -> dict:
    with engine.connect() as conn:
        row = conn.execute(sa.text(
            "SELECT sum(rows_received), sum(rows_loaded), sum(rows_quarantined) FROM staging.load "
            "WHERE source_id = :s AND status = 'loaded'"), {"s": source_id}).one()
    return {"received": row[0], "loaded": row[1], "quarantined": row[2]}


def test_quarantined_rows_above_the_contracts_share_fail_the_check_and_ride_on_the_asset_event(
        night_env, fresh_warehouse, airflow_db, webhook, monkeypatch):
    url, engine = fresh_warehouse
    hook, received = webhook
    monkeypatch.setenv("AIRFLOW_CONN_RIDNI_SLACK", json.dumps({"conn_type": "slackwebhook", "password": hook}))
    synth = night_env(persons=40, faults=["garbage_rows:npu_appeals"])  # a small file: its bad rows are > 1%
    night = synth.nights[0]

    assert run_dag(url, "ingest_npu_appeals", night) == "failed"
    states, events = _last_run("ingest_npu_appeals")
    assert states == {"wait_for_drop": "success", "receive_verify_load": "success", "build_data_docs": "success",
                      "check_quarantine": "failed"}
    counts = _staging_counts(engine, "npu_appeals")
    assert counts["quarantined"] > load("npu_appeals").max_quarantine_share * counts["received"] > 0
    assert counts["loaded"] == counts["received"] - counts["quarantined"] > 0  # the good rows are loaded
    assert events == [{"night": night.isoformat(), **counts}]
    with engine.connect() as conn:
        alerts = conn.execute(sa.text("SELECT kind, severity, rows_affected, message, channels FROM audit.alert "
                                      "WHERE source_id = 'npu_appeals' ORDER BY id")).all()
    by_kind = {a.kind: a for a in alerts}
    assert by_kind["quarantine_share_exceeded"].severity == "error"
    assert by_kind["quarantine_share_exceeded"].rows_affected == counts["quarantined"]
    assert "max_quarantine_share 1.0%" in by_kind["quarantine_share_exceeded"].message
    assert by_kind["task_failed"].message.startswith("task check_quarantine failed")
    assert all(a.channels == ["slack"] for a in alerts)  # sent through the notifier, with the load's warning
    assert any("quarantine_share_exceeded" in json.loads(body)["text"] for body in received)

    # a rerun of the night loads nothing new and says the same: red, with the same counts on its event
    assert run_dag(url, "ingest_npu_appeals", night) == "failed"
    states, events = _last_run("ingest_npu_appeals")
    assert states["check_quarantine"] == "failed" and states["receive_verify_load"] == "success"
    assert events == [{"night": night.isoformat(), **counts}]
    assert _staging_counts(engine, "npu_appeals") == counts


def test_a_clean_drop_passes_the_check_and_its_event_counts_its_rows(night_env, fresh_warehouse, airflow_db):
    url, engine = fresh_warehouse
    synth = night_env(persons=120)
    night = synth.nights[0]
    assert run_dag(url, "ingest_ombudsman", night) == "success"
    states, events = _last_run("ingest_ombudsman")
    assert states["check_quarantine"] == "success"
    counts = _staging_counts(engine, "ombudsman")
    assert counts["quarantined"] == 0 and counts["received"] == counts["loaded"] > 0
    assert events == [{"night": night.isoformat(), **counts}]
