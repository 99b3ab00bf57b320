"""Alerts: the package records them (a log line and an ``audit.alert`` row, without Airflow); the DAGs' notifier
records failed tasks and sends the run's alerts to Slack and e-mail through Airflow's notifiers when their
connections exist."""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from ridni import alerts
from ridni.orchestration.notify import AlertNotifier


@pytest.fixture
def task(warehouse_url, monkeypatch):
    """A task's callback context, as Airflow passes it (the warehouse from RIDNI_WAREHOUSE_URL)."""
    monkeypatch.setenv("RIDNI_WAREHOUSE_URL", warehouse_url)
    monkeypatch.delenv("AIRFLOW_CONN_RIDNI_WAREHOUSE", raising=False)  # left by a whole-DAG test (ridni_dev.demo)
    monkeypatch.delenv("AIRFLOW_CONN_RIDNI_SLACK", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_RIDNI_SMTP", raising=False)
    return {"ti": SimpleNamespace(dag_id="ingest_npu_appeals", task_id="receive_verify_load", try_number=1),
            "run_id": f"manual__{uuid.uuid4().hex}", "params": {"source_id": "npu_appeals", "night": "2026-11-01"}}


class _Capture(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def _rows(engine, run_id: str) -> list:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT kind, channels, message FROM audit.alert WHERE dag_run_id = :r "
                                    "ORDER BY id"), {"r": run_id}).all()


def test_an_alert_a_task_raised_goes_to_slack_after_the_task(webhook, engine, task, monkeypatch):
    capture = _Capture()
    logging.getLogger("ridni.alerts").addHandler(capture)
    url, received = webhook
    monkeypatch.setenv("AIRFLOW_CONN_RIDNI_SLACK", json.dumps({"conn_type": "slackwebhook", "password": url}))
    alert = alerts.Alert(kind="drop_rejected", severity="error", message="drop rejected, nothing loaded "
                         "(appeals.csv, line 7): 3 fields where the header has 15", source_id="npu_appeals",
                         extract_date=dt.date(2026, 11, 1), quarantine_ref="quarantine.rejected_drop id=1",
                         dag_id="ingest_npu_appeals", dag_run_id=task["run_id"])
    with engine.begin() as conn:  # in the task: the package records it
        alerts.raise_alert(conn, alert)
    logging.getLogger("ridni.alerts").removeHandler(capture)
    line = next(x for x in capture.lines if x.startswith("ALERT "))
    assert json.loads(line.removeprefix("ALERT "))["kind"] == "drop_rejected"  # one structured line
    assert _rows(engine, task["run_id"])[0].channels == [] and not received

    AlertNotifier()(task)  # the task's callback
    assert len(received) == 1
    text = json.loads(received[0])["text"]
    assert "npu_appeals" in text and "2026-11-01" in text and "line 7" in text
    assert _rows(engine, task["run_id"])[0].channels == ["slack"]

    AlertNotifier()(task)  # the next task's callback: nothing left to send
    assert len(received) == 1


def test_a_failed_task_is_an_alert_naming_the_error_type_never_its_message(webhook, engine, task, monkeypatch):
    url, received = webhook
    monkeypatch.setenv("AIRFLOW_CONN_RIDNI_SLACK", json.dumps({"conn_type": "slackwebhook", "password": url}))
    AlertNotifier(task_failed=True)({**task, "exception": ValueError("Іваненко Петро, 1987-03-02")})
    [row] = _rows(engine, task["run_id"])
    assert row.kind == "task_failed" and row.channels == ["slack"]
    assert row.message == "task receive_verify_load failed after 1 tries: ValueError"
    assert "Іваненко" not in json.loads(received[0])["text"]


def test_without_connections_an_alert_is_still_logged_and_recorded(engine, task):
    with engine.begin() as conn:
        alerts.raise_alert(conn, alerts.Alert(kind="late_drop", severity="error", message="no drop by 06:00 UTC",
                                              source_id="sbu_jc", dag_id="ingest_npu_appeals",
                                              dag_run_id=task["run_id"]))
    AlertNotifier()(task)
    assert [(r.kind, r.channels) for r in _rows(engine, task["run_id"])] == [("late_drop", [])]


def test_a_broken_channel_does_not_hide_the_alert(engine, task, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_RIDNI_SLACK", json.dumps({"conn_type": "slackwebhook",
                                                               "password": "http://127.0.0.1:9/nothing/here"}))
    AlertNotifier(task_failed=True)({**task, "exception": RuntimeError()})
    assert [(r.kind, r.channels) for r in _rows(engine, task["run_id"])] == [("task_failed", [])]
