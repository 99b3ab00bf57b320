"""Faults, each an automated test, on real generated drops and a real PostgreSQL warehouse.

"As if it had run once" is checked with table fingerprints: every row of every table of every layer, without
surrogate keys, clocks and paths (``secutil.fingerprint``), against a clean run; exports byte for byte.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from secutil import START, TcpProxy, diff, fingerprint, point_settings, write_drop
from sqlalchemy.engine import make_url

import ridni.decide.run
import ridni.ingest.load
import ridni.linkage.run
import ridni.publish.exports
import ridni.publish.marts
from ridni import db
from ridni.decide.run import decide_night
from ridni.ingest.run import ingest_night, ingest_source
from ridni.linkage.run import resolve_persons
from ridni.publish.exports import publish_night
from ridni.publish.marts import build_marts
from ridni_dev.synth import generate

PERSONS = 60
INGEST_LAYERS = ("raw", "staging", "quarantine", "core", "audit")


class Killed(Exception):
    """What a task dies of in these tests (the worker lost, OOM-killed, the node gone)."""


def arm(monkeypatch, module, name: str, *, after: bool, when=lambda *a, **k: True) -> list:
    """Make ``module.name`` die once (before or after doing its work) on the first call where ``when`` holds."""
    real = getattr(module, name)
    fired: list = []

    def dying(*args, **kwargs):
        if fired or not when(*args, **kwargs):
            return real(*args, **kwargs)
        fired.append(name)
        if after:
            real(*args, **kwargs)
        raise Killed(f"killed in {name}")

    monkeypatch.setattr(module, name, dying)
    return fired


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _downstream(engine, night, exports) -> Path:
    resolve_persons(engine, night)
    decide_night(engine, night)
    build_marts(engine, night)
    return publish_night(engine, night, exports)


@pytest.fixture(scope="module")
def npu_reference(tmp_path_factory, make_database):
    """The warehouse after one clean load of the night's police appeals (a separate database and folder)."""
    root = tmp_path_factory.mktemp("reference")
    url = make_database()
    db.upgrade(url)
    engine = db.make_engine(url)
    with pytest.MonkeyPatch.context() as mp:
        point_settings(mp.setenv, root)
        generate(root, seed=7, persons=PERSONS, nights=1, start_date=START)
        assert ingest_source(engine, "npu_appeals", START).status == "loaded"
    yield fingerprint(engine, INGEST_LAYERS)
    engine.dispose()


# ------------------------------------------------------------------------------------------ (a)
KILL_POINTS = {
    "after the COPY into staging": (ridni.ingest.load, "copy_frame", True),
    "before the merge into core": (ridni.ingest.load, "_merge_into_core", False),
    "after the merge, before the withdrawals": (ridni.ingest.load, "_withdraw_absent", False),
}


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_a_load_killed_midway_and_retried_is_as_if_it_ran_once(
    night_env, fresh_warehouse, npu_reference, monkeypatch, point
):
    _, engine = fresh_warehouse
    night_env(persons=PERSONS)
    module, name, after = KILL_POINTS[point]
    fired = arm(monkeypatch, module, name, after=after)
    with pytest.raises(Killed):
        ingest_source(engine, "npu_appeals", START)
    assert fired == [name]
    with (
        engine.connect() as conn
    ):  # the file's transaction left nothing behind; the drop is received, not loaded
        assert conn.execute(sa.text("SELECT status FROM raw.drop")).scalar_one() == "received"
        for table in ("staging.load", "staging.record", "core.source_record", "core.source_record_version"):
            assert conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar() == 0, table  # noqa: S608
    report = ingest_source(engine, "npu_appeals", START)  # the retry
    assert report.status == "loaded" and report.rows_loaded > PERSONS
    assert diff(fingerprint(engine, INGEST_LAYERS), npu_reference) == {}


def test_a_load_whose_process_is_killed_with_sigkill_after_the_merge_is_retried_cleanly(
    night_env, fresh_warehouse, npu_reference, tmp_path
):
    """The worker process dies for real (SIGKILL, no exception handling) with the merge done and uncommitted."""
    url, engine = fresh_warehouse
    night_env(persons=PERSONS)
    script = (
        "import datetime as dt, os, signal, sys\n"
        "import ridni.ingest.load as load\n"
        "from ridni import db\n"
        "from ridni.ingest.run import ingest_source\n"
        "real = load._merge_into_core\n"
        "def die(*a, **k):\n"
        "    real(*a, **k)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "load._merge_into_core = die\n"
        "ingest_source(db.make_engine(sys.argv[1]), 'npu_appeals', dt.date.fromisoformat(sys.argv[2]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, url, START.isoformat()],
        env=dict(os.environ),
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()[-2000:]
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM core.source_record")).scalar() == 0
        assert conn.execute(sa.text("SELECT count(*) FROM staging.load")).scalar() == 0
    assert ingest_source(engine, "npu_appeals", START).status == "loaded"
    assert diff(fingerprint(engine, INGEST_LAYERS), npu_reference) == {}


DOWNSTREAM_KILLS = {  # the step's task, what dies, and on writing which table
    "resolve persons, links half rewritten": (resolve_persons, ridni.linkage.run, "core.person_link"),
    "decide, evidence deleted": (decide_night, ridni.decide.run, "core.evidence"),
    "marts, change log deleted": (build_marts, ridni.publish.marts, "marts.change_log"),
}


# ------------------------------------------------------------------------------------------ (b)
def test_the_same_night_twice_then_killed_midway_leaves_the_same_warehouse_and_byte_identical_exports(
    night_env, fresh_warehouse, tmp_path, monkeypatch
):
    _, engine = fresh_warehouse
    night_env(persons=PERSONS, faults=["garbage_rows:npu_appeals"])
    exports = tmp_path / "exports"
    assert {r.status for r in ingest_night(engine, START)} <= {"loaded", "no_drop"}
    folder = _downstream(engine, START, exports)
    first, files = fingerprint(engine), _files(folder)
    assert (
        first["quarantine.rejected_row"][0] > 0
        and first["audit.alert"][0] > 0
        and first["marts.change_log"][0]
    )

    # the same night again, every step: nothing changes, the exports are the same bytes
    with engine.connect() as conn:
        published = conn.execute(sa.text("SELECT published_at FROM audit.publication")).scalar_one()
    assert {r.status for r in ingest_night(engine, START)} <= {"skipped", "no_drop"}
    _downstream(engine, START, exports)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT published_at FROM audit.publication")).scalar_one() > published
    assert diff(fingerprint(engine), first) == {}
    assert _files(folder) == files

    # each later step killed midway: the warehouse and the published night stay as they were; the retry too
    for what, (step, module, table) in DOWNSTREAM_KILLS.items():
        with monkeypatch.context() as mp:
            fired = arm(mp, module, "copy_frame", after=True, when=lambda conn, t, *a, _t=table, **k: t == _t)
            with pytest.raises(Killed):
                step(engine, START)
            assert fired, what
        assert diff(fingerprint(engine), first) == {}, what
    with monkeypatch.context() as mp:
        fired = arm(
            mp,
            ridni.publish.exports,
            "_write_xlsx",
            after=True,
            when=lambda frame, path, sheet: sheet == "change_log",
        )
        with pytest.raises(Killed):
            publish_night(engine, START, exports)
        assert fired
    assert [p.name for p in exports.iterdir()] == [START.isoformat()], "no half-written folder left behind"
    assert _files(folder) == files
    publish_night(engine, START, exports)  # the killed task's retry
    assert diff(fingerprint(engine), first) == {}
    assert _files(folder) == files


# ------------------------------------------------------------------------------------------ (c)
def _register(engine) -> dict:
    with engine.connect() as conn:
        applied = conn.execute(sa.text("SELECT seq FROM core.delta_applied ORDER BY seq")).scalars().all()
        drops = conn.execute(sa.text("SELECT seq, status FROM raw.drop ORDER BY extract_date, drop_id")).all()
        alerts = conn.execute(sa.text("SELECT kind, message FROM audit.alert ORDER BY id")).all()
    return {
        "applied": applied,
        "drops": [tuple(d) for d in drops],
        "alerts": [tuple(a) for a in alerts],
        "core": fingerprint(engine, ["core"]),
    }


def test_register_deltas_out_of_order_wait_for_the_missing_one_then_apply_in_order(
    night_env, fresh_warehouse, make_database
):
    _, engine = fresh_warehouse
    synth = night_env(persons=PERSONS, nights=3)
    n1, n2, n3 = synth.nights
    assert ingest_source(engine, "mvs_register", n1).status == "loaded"
    after_first = _register(engine)

    # seq 3 arrives before seq 2: held, alerted, nothing of it applied
    held = ingest_source(engine, "mvs_register", n3)
    assert held.status == "held" and "missing 2..2" in held.reason
    state = _register(engine)
    assert state["applied"] == [1] and state["core"] == after_first["core"]
    assert state["drops"] == [(1, "loaded"), (3, "held")]
    assert [k for k, _ in state["alerts"]] == ["seq_gap"] and "missing 2..2" in state["alerts"][0][1]
    # asked again before seq 2 is there: still held, no second alert
    assert ingest_source(engine, "mvs_register", n3).status == "held"
    assert len(_register(engine)["alerts"]) == 1

    # seq 2 arrives and applies; then the held seq 3 (its run cleared) applies after it
    assert ingest_source(engine, "mvs_register", n2).status == "loaded"
    assert ingest_source(engine, "mvs_register", n3).status == "loaded"
    final = _register(engine)
    assert final["applied"] == [1, 2, 3]

    # the same as a warehouse that received them in order
    other = db.make_engine(make_database())
    db.upgrade(other.url.render_as_string(hide_password=False))
    for night in (n1, n2, n3):
        assert ingest_source(other, "mvs_register", night).status == "loaded"
    assert diff(final["core"], _register(other)["core"]) == {}
    other.dispose()


def test_a_gap_in_the_register_deltas_stops_everything_after_it(night_env, fresh_warehouse):
    _, engine = fresh_warehouse
    synth = night_env(persons=PERSONS, nights=3, faults=["register_seq_gap"])
    n1, n2, n3 = synth.nights
    assert ingest_source(engine, "mvs_register", n1).status == "loaded"
    core = fingerprint(engine, ["core"])
    assert ingest_source(engine, "mvs_register", n2).status == "held"  # seq 3: seq 2 never came
    assert ingest_source(engine, "mvs_register", n3).status == "held"  # seq 4: still nothing past the gap
    state = _register(engine)
    assert state["applied"] == [1] and state["core"] == core
    assert state["drops"] == [(1, "loaded"), (3, "held"), (4, "held")]
    assert [k for k, _ in state["alerts"]] == ["seq_gap", "seq_gap"]
    assert "missing 2..2" in state["alerts"][0][1] and "missing 2..3" in state["alerts"][1][1]


# ------------------------------------------------------------------------------------------ (d)
@pytest.fixture
def proxy(server_url):
    target = make_url(server_url)
    p = TcpProxy(target.host or "127.0.0.1", target.port or 5432)
    yield p
    p.cut()


def test_the_warehouse_unreachable_fails_cleanly_then_a_retry_succeeds(
    night_env, fresh_warehouse, proxy, npu_reference, tmp_path, monkeypatch
):
    url, direct = fresh_warehouse
    night_env(persons=PERSONS)
    secret = "pw-never-in-messages"
    via_proxy = db.make_engine(
        make_url(url)
        .set(host="127.0.0.1", port=proxy.port, password=secret)
        .render_as_string(hide_password=False)
    )

    # 1. unreachable from the start (nothing listens): a clear error, nothing archived or written
    with pytest.raises(sa.exc.OperationalError) as refused:
        ingest_source(via_proxy, "npu_appeals", START)
    message = str(refused.value)
    assert "Connection refused" in message and str(proxy.port) in message and secret not in message
    assert not (tmp_path / "archive").exists() or not any((tmp_path / "archive").rglob("*"))
    assert all(n == 0 for n, _ in fingerprint(direct, INGEST_LAYERS).values())

    # 2. back, then lost in the middle of the load (after the drop was received and committed)
    proxy.restore()
    fired: list = []
    monkeypatch.setattr(ridni.ingest.load, "_merge_into_core", _cutting(proxy, fired))
    with pytest.raises(sa.exc.OperationalError) as lost:
        ingest_source(via_proxy, "npu_appeals", START)
    assert fired == ["cut"]
    assert "closed the connection" in str(lost.value), str(lost.value)
    assert secret not in str(lost.value)
    with direct.connect() as conn:  # no partial state: the drop is received, nothing of the file is
        assert conn.execute(sa.text("SELECT status FROM raw.drop")).scalar_one() == "received"
        for table in ("staging.load", "staging.record", "core.source_record", "audit.validation"):
            assert conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar() == 0, table  # noqa: S608

    # 3. back again: the retry, through the same engine, loads the night as if nothing had happened
    monkeypatch.setattr(ridni.ingest.load, "_merge_into_core", _REAL_MERGE)
    proxy.restore()
    assert ingest_source(via_proxy, "npu_appeals", START).status == "loaded"
    assert diff(fingerprint(direct, INGEST_LAYERS), npu_reference) == {}
    via_proxy.dispose()


_REAL_MERGE = ridni.ingest.load._merge_into_core


def _cutting(proxy: TcpProxy, fired: list):
    """``_merge_into_core`` that first cuts the warehouse off (once)."""
    real = _REAL_MERGE

    def merge(*args, **kwargs):
        if not fired:
            fired.append("cut")
            proxy.cut()
        return real(*args, **kwargs)

    return merge


def _task_states(run) -> dict[str, str]:
    return {ti.task_id: str(getattr(ti.state, "value", ti.state)) for ti in run.get_task_instances()}


@pytest.mark.dag
def test_an_ingest_dag_with_the_warehouse_down_fails_cleanly_then_a_new_run_succeeds(
    night_env, fresh_warehouse, proxy, airflow_db, npu_reference, monkeypatch
):
    """Through Airflow (dag.test): the task fails on the refused connection, its failure callback survives the
    warehouse being down, nothing is written; with the warehouse back, a new run loads the night."""
    import datetime as dt

    from airflow.dag_processing.dagbag import DagBag

    from ridni.config import PROJECT_ROOT
    from ridni_dev.demo import _airflow_connection

    url, direct = fresh_warehouse
    night_env(persons=PERSONS)
    proxied = make_url(url).set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    monkeypatch.setenv("AIRFLOW_CONN_RIDNI_WAREHOUSE", _airflow_connection(proxied))
    dag = DagBag(dag_folder=str(PROJECT_ROOT / "dags" / "ingest_npu_appeals.py"), safe_mode=False).get_dag(
        "ingest_npu_appeals"
    )
    conf = {"night": START.isoformat()}
    down = dag.test(logical_date=dt.datetime.now(dt.UTC), run_conf=conf)
    assert str(getattr(down.state, "value", down.state)) == "failed"
    states = _task_states(down)
    assert states["wait_for_drop"] == "success" and states["receive_verify_load"] == "failed", states
    assert states["build_data_docs"] == "upstream_failed", states
    assert all(n == 0 for n, _ in fingerprint(direct, INGEST_LAYERS).values())

    proxy.restore()
    back = dag.test(logical_date=dt.datetime.now(dt.UTC), run_conf=conf)
    assert str(getattr(back.state, "value", back.state)) == "success", _task_states(back)
    assert diff(fingerprint(direct, INGEST_LAYERS), npu_reference) == {}


def test_the_task_engine_follows_the_warehouse_connection(monkeypatch):
    """When the ``ridni_warehouse`` connection changes (fail-over to a standby, another warehouse), the next task
    run in the same process uses it: an in-process run (dag.test, the demo, the test suite) must not keep
    writing to the old warehouse."""
    from ridni.orchestration import warehouse
    from ridni_dev.demo import _airflow_connection

    for host in ("db-a", "db-b", "db-a"):
        monkeypatch.setenv(
            "AIRFLOW_CONN_RIDNI_WAREHOUSE", _airflow_connection(f"postgresql://u@{host}:5432/ridni")
        )
        assert warehouse.engine().url.host == host


# ------------------------------------------------------------------------------------------ (e)
EXCHANGE = (
    b"exchange_id,exchange_date,surname,first_name,patronymic,birth_date,category,service_no\n"
    b"EX-20261031,2026-10-31,\xd0\x9f\xd0\xb5\xd1\x82\xd1\x80\xd0\xb5\xd0\xbd\xd0\xba\xd0\xbe,"
    b"\xd0\x86\xd0\xb2\xd0\xb0\xd0\xbd,\xd0\x9f\xd0\xb5\xd1\x82\xd1\x80\xd0\xbe\xd0\xb2\xd0\xb8\xd1\x87,"
    b"1990-05-17,military,\xd0\x94-123456\n"
)


def test_the_same_drop_under_other_names_is_loaded_once(night_env, fresh_warehouse, tmp_path):
    _, engine = fresh_warehouse
    synth = night_env(persons=PERSONS, nights=2)
    n1, n2 = synth.nights
    landing = tmp_path / "landing"
    for source_id in ("npu_appeals", "mvs_register"):
        assert ingest_source(engine, source_id, n1).status == "loaded"
    ex1 = landing / "exchange_returns" / n1.isoformat()
    write_drop(
        ex1, "exchange_returns", n1, {"exchange_EX-20261031.csv": EXCHANGE}, {"exchange_EX-20261031.csv": 1}
    )
    assert ingest_source(engine, "exchange_returns", n1).status == "loaded"
    before = fingerprint(engine, ["core"])

    # the exchange list re-sent the next night under another name
    ex2 = landing / "exchange_returns" / n2.isoformat()
    write_drop(
        ex2,
        "exchange_returns",
        n2,
        {"exchange_EX-20261031-resent.csv": EXCHANGE},
        {"exchange_EX-20261031-resent.csv": 1},
    )
    report = ingest_source(engine, "exchange_returns", n2)
    assert [f.status for f in report.files] == ["skipped_duplicate"]
    # the register's delta re-delivered under another file name (a second drop of the same night)
    reg = landing / "mvs_register" / n1.isoformat()
    original = next(reg.glob("register_*.csv"))
    seq = int(original.stem.split("_")[1])
    data = original.read_bytes()
    for p in list(reg.iterdir()):
        p.unlink()
    rows = data.count(b"\r\n") - 1
    write_drop(
        reg,
        "mvs_register",
        n1,
        {f"register_{seq:06d}_resent.csv": data},
        {f"register_{seq:06d}_resent.csv": rows},
        seq=seq,
    )
    again = ingest_source(engine, "mvs_register", n1)
    assert again.status == "skipped" and "already applied" in again.reason
    # the police snapshot delivered again, same bytes, as the next night's drop
    npu1, npu2 = (landing / "npu_appeals" / n.isoformat() for n in (n1, n2))
    for p in list(npu2.iterdir()):
        p.unlink()
    manifest = (npu1 / "manifest.json").read_text(encoding="utf-8").replace(n1.isoformat(), n2.isoformat())
    (npu2 / "appeals.csv").write_bytes((npu1 / "appeals.csv").read_bytes())
    (npu2 / "manifest.json").write_text(manifest, encoding="utf-8")
    snap = ingest_source(engine, "npu_appeals", n2)
    assert [f.status for f in snap.files] == ["skipped_duplicate"] and snap.withdrawn == 0

    assert diff(fingerprint(engine, ["core"]), before) == {}
    with engine.connect() as conn:
        twice = conn.execute(
            sa.text(
                "SELECT count(*) FROM (SELECT sha256 FROM staging.load WHERE status = 'loaded' GROUP BY sha256 "
                "HAVING count(*) > 1) t"
            )
        ).scalar()
        loads = conn.execute(sa.text("SELECT count(*) FROM staging.load WHERE status = 'loaded'")).scalar()
    assert twice == 0 and loads == 3
