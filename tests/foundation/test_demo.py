"""The path a newcomer follows: ``bash bin/demo``, then ``bash bin/ui``, the headquarters page, ``bash bin/ui stop``.

One demo run (300 persons, one night) into an Airflow home and a warehouse of the test's own; its console,
its log file, the Airflow home it leaves (config, connections, runs, task logs), then the UI started on that
home, the page read as the printed user, and everything stopped.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import socket
import subprocess
import sys
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from ridni import db
from ridni.orchestration.warehouse import url_from_connection
from ridni_dev import ui

pytestmark = pytest.mark.dag

ROOT = Path(__file__).resolve().parents[2]
NIGHT = "2026-11-01"
DAGS = ["ingest_children_deported", "ingest_coordhq_cases", "ingest_exchange_returns", "ingest_icrc_confirmations",
        "ingest_mvs_register", "ingest_npu_appeals", "ingest_ombudsman", "ingest_sbu_jc", "resolve_persons",
        "publish_hq"]

# What the Airflow home holds after the demo, read by Airflow itself in a process that has only
# AIRFLOW_HOME (no AIRFLOW__CORE__* or AIRFLOW_CONN_* from the environment).
READ_HOME = """
import json
from airflow.configuration import conf
from airflow.models.connection import Connection
from airflow.models.dagrun import DagRun
from airflow.utils.session import create_session

def conn(conn_id):
    c = Connection.get_connection_from_secrets(conn_id)
    return {"host": c.host, "port": c.port, "login": c.login, "password": c.password, "schema": c.schema,
            "extra": c.extra}

def iso(moment):
    return moment and moment.isoformat()

with create_session() as session:
    runs = [{"dag_id": r.dag_id, "logical_date": iso(r.logical_date), "start": iso(r.start_date),
             "end": iso(r.end_date), "state": str(r.state),
             "tasks": [[t.task_id, t.try_number, t.run_id] for t in r.get_task_instances(session=session)]}
            for r in session.query(DagRun)]
print(json.dumps({"dags_folder": conf.get("core", "dags_folder"), "plugins_folder": conf.get("core", "plugins_folder"),
                  "load_examples": conf.getboolean("core", "load_examples"),
                  "base_log_folder": conf.get("logging", "base_log_folder"),
                  "warehouse": conn("ridni_warehouse"), "reader": conn("ridni_hq_readonly"), "runs": runs}))
"""


@dataclass
class Demo:
    env: dict
    home: Path
    data_dir: Path
    url: str
    console: str
    started: dt.datetime
    state: dict


def _clean_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RIDNI_", "AIRFLOW_CONN_", "AIRFLOW__"))}
    env.update({"PYTHONDONTWRITEBYTECODE": "1", "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"})
    env.update(extra)
    return env


class _Connection:
    def __init__(self, fields: dict):
        self.__dict__.update(fields)

    @property
    def extra_dejson(self) -> dict:
        return json.loads(self.extra) if self.extra else {}


def _drop_role(url: str) -> None:
    admin = sa.create_engine(db.normalise_url(url), isolation_level="AUTOCOMMIT")
    role = ui.hq_reader_role(url)
    with admin.connect() as conn:
        conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = :r"), {"r": role})
        conn.execute(sa.text(f"DROP ROLE IF EXISTS {role}"))
    admin.dispose()


@pytest.fixture(scope="module")
def demo(make_database, tmp_path_factory, request) -> Demo:
    work = tmp_path_factory.mktemp("demo")
    url = make_database()
    request.addfinalizer(lambda: _drop_role(url))  # the demo's reader role is the server's, not the database's
    env = _clean_env(AIRFLOW_HOME=str(work / "airflow"), RIDNI_DATA_DIR=str(work / "var"), RIDNI_WAREHOUSE_URL=url)
    started = dt.datetime.now(dt.UTC)
    run = subprocess.run(["bash", "bin/demo", "--persons", "300"], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=900)
    console = run.stdout + run.stderr
    assert run.returncode == 0, console[-5000:]
    read = subprocess.run([sys.executable, "-c", READ_HOME], env=_clean_env(AIRFLOW_HOME=env["AIRFLOW_HOME"]),
                          capture_output=True, text=True, timeout=120)
    assert read.returncode == 0, read.stderr[-3000:]
    return Demo(env, work / "airflow", work / "var", url, console, started, json.loads(read.stdout.splitlines()[-1]))


def test_the_console_shows_one_line_per_dag_run_and_the_summary_the_log_file_the_rest(demo):
    lines = demo.console.splitlines()
    assert len(lines) <= 40, demo.console
    runs = [ln for ln in lines if ln.startswith(NIGHT)]
    assert [ln.split()[1] for ln in runs] == DAGS
    assert all(re.fullmatch(rf"{NIGHT}\s+\w+\s+success\s+\d+\.\d s", ln) for ln in runs), runs
    headline = lines.index(f"headline of {NIGHT} (change since the night before):")
    assert lines[headline + 1].split()[:2] == ["all", "missing"]
    log_file = demo.data_dir / "demo.log"
    assert f"full log:    {log_file}" in lines
    assert "  bash bin/ui        starts Airflow in the background (this Airflow home, the project's DAGs and " \
           "plugin)" in lines
    password = json.loads((demo.home / ui.PASSWORDS_FILE).read_text())[ui.USER]
    assert f"  then open          http://localhost:8080/ridni-hq/   user admin, password {password}" in lines
    assert "  bash bin/ui stop   stops the UI and the demo's embedded PostgreSQL" in lines
    # what used to flood the console is in the log file, with the tasks' own logs
    for noise in ("Skipping registering function", "[DAG TEST]", "[info", "WARNING"):
        assert noise not in demo.console
    logged = log_file.read_text()
    assert "Skipping registering function" in logged
    assert "[DAG TEST] starting task_id=receive_verify_load" in logged
    assert re.search(r"ingest_npu_appeals\s+loaded\s+loaded=\d+ quarantined=0", logged)


def test_the_airflow_home_has_the_projects_dags_and_plugin_and_no_examples(demo):
    assert demo.state["dags_folder"] == str(ROOT / "dags")
    assert demo.state["plugins_folder"] == str(ROOT / "plugins")
    assert demo.state["load_examples"] is False


def test_the_hq_connection_is_a_login_that_reads_marts_and_not_core(demo):
    reader = url_from_connection(_Connection(demo.state["reader"]))
    assert sa.engine.make_url(reader).username == ui.hq_reader_role(demo.url)
    assert url_from_connection(_Connection(demo.state["warehouse"])) == db.normalise_url(demo.url)
    engine = db.make_engine(reader)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM marts.headline")).scalar() > 0
            assert conn.execute(sa.text("SELECT count(*) FROM marts.source_quality")).scalar() > 0
        for table in ("core.source_record", "core.person", "raw.file", "quarantine.rejected_row"):
            with engine.connect() as conn, pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                conn.execute(sa.text(f"SELECT count(*) FROM {table}"))  # noqa: S608
    finally:
        engine.dispose()


def test_runs_are_dated_at_the_night_started_now_and_their_task_logs_are_where_the_ui_reads_them(demo):
    runs = demo.state["runs"]
    assert sorted(r["dag_id"] for r in runs) == sorted(DAGS)
    finished = dt.datetime.now(dt.UTC)
    for run in runs:
        assert run["state"] == "success"
        start, end = dt.datetime.fromisoformat(run["start"]), dt.datetime.fromisoformat(run["end"])
        assert demo.started <= start <= end <= finished, run  # a real start, not the night's date
        if run["dag_id"].startswith("ingest_"):
            assert run["logical_date"] == f"{NIGHT}T03:00:00+00:00"
        for task_id, try_number, run_id in run["tasks"]:
            path = (Path(demo.state["base_log_folder"]) / f"dag_id={run['dag_id']}" / f"run_id={run_id}"
                    / f"task_id={task_id}" / f"attempt={try_number}.log")
            if try_number:  # a task skipped by the short-circuit never ran
                assert f"[DAG TEST] starting task_id={task_id}" in path.read_text(), path
    assert Path(demo.state["base_log_folder"]) == demo.home / "logs"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _token(base: str, password: str) -> str:
    request = urllib.request.Request(f"{base}/auth/token", data=json.dumps({"username": ui.USER, "password": password})
                                     .encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["access_token"]


def _get(url: str, token: str) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.status, response.read().decode()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_bin_ui_serves_the_hq_page_and_the_task_logs_to_the_printed_login_then_stops_everything(demo):
    port = _free_port()
    started = subprocess.run(["bash", "bin/ui", "--port", str(port)], cwd=ROOT, env=demo.env, capture_output=True,
                             text=True, timeout=400)
    pgid = int((demo.home / ui.PID_FILE).read_text()) if (demo.home / ui.PID_FILE).exists() else None
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        printed = re.search(rf"http://localhost:{port}/\s+user (\w+), password (\S+)", started.stdout)
        assert printed and printed.group(1) == ui.USER, started.stdout
        assert f"http://localhost:{port}/ridni-hq/" in started.stdout
        base = f"http://127.0.0.1:{port}"
        token = _token(base, printed.group(2))
        status, page = _get(f"{base}/ridni-hq/", token)
        assert status == 200 and "all missing" in page  # read through ridni_hq_readonly: no 503

        npu = next(r for r in demo.state["runs"] if r["dag_id"] == "ingest_npu_appeals")
        run_id = urllib.parse.quote(npu["tasks"][0][2], safe="")
        status, body = _get(f"{base}/api/v2/dags/ingest_npu_appeals/dagRuns/{run_id}/taskInstances/"
                            f"receive_verify_load/logs/1", token)
        events = " ".join(str(e.get("event")) for e in json.loads(body)["content"])
        assert status == 200 and re.search(r"ingest_npu_appeals\s+loaded\s+loaded=\d+", events)
    finally:
        stopped = subprocess.run(["bash", "bin/ui", "stop"], cwd=ROOT, env=demo.env, capture_output=True, text=True,
                                 timeout=120)
    assert stopped.returncode == 0, stopped.stderr
    assert f"Airflow UI: stopped (process group {pgid})" in stopped.stdout
    assert not _group_alive(pgid)  # the api-server, scheduler, dag-processor, triggerer and their workers
    assert not (demo.home / ui.PID_FILE).exists()
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0


def test_ui_stop_stops_the_demos_embedded_postgresql(tmp_path):
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    pgdata = data_dir / "pgdata"
    started = subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path; from ridni import db; "
                              "print(db.embedded_url(Path(sys.argv[1])))", str(pgdata)],
                             capture_output=True, text=True, timeout=120)  # as the demo starts it: another process
    assert started.returncode == 0, started.stderr[-3000:]
    url = started.stdout.splitlines()[-1]
    pid = int((pgdata / "postmaster.pid").read_text().splitlines()[0])
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT 1")).scalar() == 1
    engine.dispose()
    env = _clean_env(AIRFLOW_HOME=str(tmp_path / "airflow"), RIDNI_DATA_DIR=str(data_dir))
    stopped = subprocess.run([str(Path(sys.executable).with_name("ridni")), "ui", "stop"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120)
    assert stopped.returncode == 0, stopped.stderr
    assert stopped.stdout.splitlines() == ["Airflow UI: not running", f"embedded PostgreSQL: stopped (pid {pid})"]
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_bin_ui_refuses_a_port_another_program_holds(tmp_path):
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        env = _clean_env(AIRFLOW_HOME=str(tmp_path / "airflow"), RIDNI_DATA_DIR=str(tmp_path / "var"))
        run = subprocess.run([str(Path(sys.executable).with_name("ridni")), "ui", "--port", str(port)], cwd=ROOT,
                             env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 1, run.stderr
    assert f"port {port} is taken by another program" in run.stdout
    assert not (tmp_path / "airflow" / ui.PID_FILE).exists()
