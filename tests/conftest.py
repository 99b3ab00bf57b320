"""Test fixtures: a real PostgreSQL database made for this run and dropped after it.

The server is the one on 127.0.0.1:5432 when it answers (as on CI), else the
embedded one from ``pgserver``. Nothing is mocked.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("RIDNI_TASK_RETRIES", "0")  # whole-DAG tests fail at once instead of waiting out retries
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(ROOT / "dags"))
os.environ.setdefault("AIRFLOW__CORE__PLUGINS_FOLDER", str(ROOT / "plugins"))
if "AIRFLOW_HOME" not in os.environ:  # bin/test sets one; a bare pytest gets a throwaway home
    os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="ridni-airflow-")

from ridni import db  # noqa: E402


def _server_url() -> str:
    url = os.environ.get("RIDNI_TEST_SERVER_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
    try:
        engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
        return url
    except sa.exc.OperationalError:
        return db.embedded_url(Path(__file__).resolve().parents[1] / "var" / "test-pgdata", "postgres")


def _admin(url: str) -> sa.Engine:
    return sa.create_engine(url, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def server_url() -> str:
    return _server_url()


@pytest.fixture(scope="session")
def make_database(server_url):
    """A factory of fresh, empty databases on the test server, all dropped at the end."""
    admin = _admin(server_url)
    made: list[str] = []

    def make() -> str:
        name = f"ridni_test_{uuid.uuid4().hex[:12]}"
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        made.append(name)
        return sa.engine.make_url(server_url).set(database=name).render_as_string(hide_password=False)

    yield make
    with admin.connect() as conn:
        for name in made:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def warehouse_url(make_database) -> str:
    """One migrated warehouse shared by the session's tests."""
    url = make_database()
    db.upgrade(url)
    return url


@pytest.fixture(scope="session")
def engine(warehouse_url):
    eng = db.make_engine(warehouse_url)
    yield eng
    eng.dispose()


@pytest.fixture
def fresh_warehouse(make_database):
    """A migrated warehouse of the test's own, for tests that need an empty one."""
    url = make_database()
    db.upgrade(url)
    eng = db.make_engine(url)
    yield url, eng
    eng.dispose()


@pytest.fixture(scope="session")
def airflow_db():
    """Airflow's own metadata DB (SQLite in AIRFLOW_HOME), migrated once, for whole-DAG runs."""
    home = Path(os.environ["AIRFLOW_HOME"])
    if not (home / "airflow.db").exists():
        subprocess.run([str(Path(sys.executable).with_name("airflow")), "db", "migrate"], check=True,
                       capture_output=True)
    return home


@pytest.fixture
def night_env(tmp_path, monkeypatch):
    """Point the pipeline's settings at a folder of the test's own; returns a function that fills it with
    generated drops (and their ground truth)."""
    import datetime as dt

    from ridni_dev.synth import generate

    monkeypatch.setenv("RIDNI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("RIDNI_LANDING", str(tmp_path / "landing"))
    monkeypatch.setenv("RIDNI_ARCHIVE", str(tmp_path / "archive"))
    monkeypatch.setenv("RIDNI_EXPORTS", str(tmp_path / "exports"))
    monkeypatch.setenv("RIDNI_DATA_DOCS", str(tmp_path / "data_docs"))
    monkeypatch.setenv("RIDNI_PSEUDONYM_KEY", "test-key-not-secret")

    def fill(persons: int = 400, nights: int = 1, faults=(), seed: int = 7):
        return generate(tmp_path, seed=seed, persons=persons, nights=nights, start_date=dt.date(2026, 11, 1),
                        faults=faults)

    return fill


@pytest.fixture
def webhook():
    """A Slack incoming webhook on localhost: its URL, and the bodies it received."""
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

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
