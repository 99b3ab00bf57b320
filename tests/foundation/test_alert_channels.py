"""Alerts reach Slack and e-mail through Airflow's providers when their connections exist."""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import sqlalchemy as sa

from ridni import alerts
from ridni.orchestration import notify


@pytest.fixture
def webhook():
    received: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            received.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/services/T000/B000/XXX", received
    server.shutdown()


class _Capture(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def test_an_alert_goes_to_slack_the_log_and_audit(webhook, engine, monkeypatch):
    capture = _Capture()
    logging.getLogger("ridni.alerts").addHandler(capture)
    url, received = webhook
    monkeypatch.setenv("AIRFLOW_CONN_RIDNI_SLACK", json.dumps({"conn_type": "slackwebhook", "password": url}))
    monkeypatch.setattr(alerts, "_channels", [])
    notify.register_airflow_channels()
    alert = alerts.Alert(kind="drop_rejected", severity="error", message="drop rejected, nothing loaded "
                         "(appeals.csv, line 7): 3 fields where the header has 15", source_id="npu_appeals",
                         extract_date=dt.date(2026, 11, 1), quarantine_ref="quarantine.rejected_drop id=1")
    with engine.begin() as conn:
        alerts.raise_alert(conn, alert)
        row = conn.execute(sa.text("SELECT channels, message FROM audit.alert ORDER BY id DESC LIMIT 1")).one()
    assert received, "nothing reached the webhook"
    text = json.loads(received[0])["text"]
    assert "npu_appeals" in text and "2026-11-01" in text and "line 7" in text
    assert row.channels == ["slack"]
    logging.getLogger("ridni.alerts").removeHandler(capture)
    line = next(x for x in capture.lines if x.startswith("ALERT "))
    assert json.loads(line.removeprefix("ALERT "))["kind"] == "drop_rejected"  # one structured line


def test_without_connections_an_alert_is_still_logged_and_recorded(engine, monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_RIDNI_SLACK", raising=False)
    monkeypatch.setattr(alerts, "_channels", [])
    notify.register_airflow_channels()
    with engine.begin() as conn:
        alerts.raise_alert(conn, alerts.Alert(kind="late_drop", severity="error", message="no drop by 06:00 UTC",
                                              source_id="sbu_jc"))
        row = conn.execute(sa.text("SELECT kind, channels FROM audit.alert ORDER BY id DESC LIMIT 1")).one()
    assert row == ("late_drop", [])
