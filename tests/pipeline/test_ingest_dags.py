"""The ingest DAG's own paths, through Airflow: a late, incomplete drop; a night without an exchange."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from ridni_dev.demo import run_dag

pytestmark = pytest.mark.dag


def test_a_drop_without_manifest_by_the_late_hour_is_archived_rejected_and_alerted(night_env, fresh_warehouse,
                                                                                 airflow_db, webhook, monkeypatch):
    url, engine = fresh_warehouse
    hook, received = webhook
    monkeypatch.setenv("AIRFLOW_CONN_RIDNI_SLACK", json.dumps({"conn_type": "slackwebhook", "password": hook}))
    synth = night_env(persons=200, faults=["missing_manifest:coordhq_cases"])
    night = synth.nights[0]  # long past its late hour
    assert run_dag(url, "ingest_coordhq_cases", night) == "failed"
    with engine.connect() as conn:
        rejected = conn.execute(sa.text("SELECT reason, file_name FROM quarantine.rejected_drop")).all()
        alerts = dict(conn.execute(sa.text("SELECT kind, channels FROM audit.alert "
                                           "WHERE source_id = 'coordhq_cases'")).all())
        archived = conn.execute(sa.text("SELECT count(*) FROM raw.file")).scalar()
        loaded = conn.execute(sa.text("SELECT count(*) FROM core.source_record")).scalar()
    assert rejected == [("incomplete drop: manifest.json missing", "manifest.json")]
    # the sensor's own alert and the failure callback's, both sent to Slack by the task's notifier
    assert {"drop_rejected": ["slack"], "late_drop": ["slack"]}.items() <= alerts.items()
    texts = [json.loads(body)["text"] for body in received]
    assert any("drop_rejected" in t for t in texts) and any("late_drop" in t for t in texts)
    assert archived == 1 and loaded == 0  # the delivered file is kept for inspection, nothing loaded


def test_a_night_without_an_exchange_is_normal(night_env, fresh_warehouse, airflow_db):
    url, engine = fresh_warehouse
    night_env(persons=200)
    quiet = dt.date(2026, 11, 1) + dt.timedelta(days=1)  # the generator's exchange is on the first night only
    assert run_dag(url, "ingest_exchange_returns", quiet) == "success"
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM audit.alert")).scalar() == 0
        assert conn.execute(sa.text("SELECT count(*) FROM raw.drop")).scalar() == 0
