"""The demo: a night of generated extracts through the real DAGs, then the headline figures.

Runs the ingest DAGs with ``dag.test()`` (Airflow's own in-process runner, on the local Airflow
home's metadata DB), then the downstream DAGs as their assets trigger them. Safe to run again: the
same drops are recognised by sha256 and nothing changes. :func:`run_night_in_process` runs the same
steps without Airflow (``ridni.night``; for tests that need a demo warehouse fast).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from ridni import db
from ridni.config import PROJECT_ROOT, settings

DEMO_START = dt.date(2026, 11, 1)
# The DAGs after the ingest DAGs, in the order their assets trigger them.
DOWNSTREAM = ["resolve_persons", "publish_hq"]


def _airflow_connection(url: str) -> str:
    """The warehouse URL as an Airflow connection (JSON form: a socket folder as host survives it)."""
    u = make_url(url)
    return json.dumps({"conn_type": "postgres", "host": u.host or u.query.get("host"), "port": u.port,
                       "login": u.username, "password": u.password, "schema": u.database})


def run_demo(*, persons: int = 3000, nights: int = 1, seed: int = 1) -> int:
    s = settings()
    if not os.environ.get("RIDNI_PSEUDONYM_KEY") and not os.environ.get("AIRFLOW_CONN_RIDNI_PSEUDONYM_KEY"):
        from ridni.privacy import demo_key

        os.environ["RIDNI_PSEUDONYM_KEY"] = demo_key(s.data_dir)  # the demo's own key, made explicitly
    url, where = db.resolve_url()
    print(f"warehouse: {db.redacted(url)} ({where})")
    db.upgrade(url)

    from ridni_dev.synth import generate

    generate(s.data_dir, seed=seed, persons=persons, nights=nights, start_date=DEMO_START)
    print(f"extracts: {s.landing} (ground truth in {s.data_dir / 'truth'})")

    failed = []
    for n in range(nights):
        night = DEMO_START + dt.timedelta(days=n)
        for dag_id, state in run_nightly_dags(url, night).items():
            print(f"{night} {dag_id:32} {state}")
            if state != "success":
                failed.append((night, dag_id))
    _print_summary(db.make_engine(url), url)
    return 1 if failed else 0


def _dagbag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(PROJECT_ROOT / "dags"), safe_mode=False)
    if bag.import_errors:
        raise SystemExit(f"DAG import errors: {bag.import_errors}")
    return bag


def _state(run) -> str:
    state = getattr(run, "state", None)
    return str(getattr(state, "value", state))


def run_dag(url: str, dag_id: str, night: dt.date, at: dt.time = dt.time(3), bag=None, *,
            conf: bool = True) -> str:
    """Run one DAG for ``night`` through Airflow (``dag.test()``); return the run's state.

    The run's logical date is the night at ``at`` (UTC), and with ``conf`` it is triggered with
    ``{"night": ...}`` as an operator would; a run of the same DAG and logical date is replaced.
    """
    os.environ["AIRFLOW_CONN_RIDNI_WAREHOUSE"] = _airflow_connection(url)
    bag = bag or _dagbag()
    logical = dt.datetime.combine(night, at, tzinfo=dt.UTC)
    return _state(bag.get_dag(dag_id).test(logical_date=logical,
                                           run_conf={"night": night.isoformat()} if conf else None))


def run_nightly_dags(url: str, night: dt.date, at: dt.time = dt.time(3)) -> dict[str, str]:
    """Run every nightly DAG for ``night`` as the scheduler runs them, and return each one's state.

    The ingest DAGs run at the night's date (``at`` UTC), as their schedule or a backfill runs them. Then
    ``resolve_persons`` and ``publish_hq`` run when their assets say so: from the asset events the runs
    before them emitted (with the night they carry), the way Airflow's scheduler makes an asset-triggered
    run; if a source's asset was not updated (its drop refused), ``resolve_persons`` runs at its 07:00 time
    instead. The runs happen now, whatever the night: a past night is a backfill.
    """
    os.environ["AIRFLOW_CONN_RIDNI_WAREHOUSE"] = _airflow_connection(url)
    bag = _dagbag()
    with _unpaused(bag):
        states = {dag_id: run_dag(url, dag_id, night, at, bag, conf=False)
                  for dag_id in sorted(d for d in bag.dag_ids if d.startswith("ingest_"))}
        for dag_id in DOWNSTREAM:
            run = _run_asset_triggered(bag, dag_id)
            if run is None and dag_id == "resolve_persons":
                run = bag.get_dag(dag_id).test(logical_date=dt.datetime.combine(night, dt.time(7), tzinfo=dt.UTC))
            states[dag_id] = _state(run) if run is not None else "not triggered"
    return states


@contextlib.contextmanager
def _unpaused(bag) -> Iterator[None]:
    """The DAGs written to Airflow's metadata DB (as ``dag.test()`` does) and unpaused while the night runs
    (Airflow queues asset events only for DAGs that are not paused); paused as before afterwards, so that
    a scheduler started later on this Airflow home does not run them by itself."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import sync_bag_to_db
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session

    DagBundlesManager().sync_bundles_to_db()
    sync_bag_to_db(bag, "dags-folder", None)
    ours = DagModel.dag_id.in_(bag.dag_ids)
    with create_session() as session:
        paused = list(session.scalars(sa.select(DagModel.dag_id).where(ours, DagModel.is_paused)))
        session.execute(sa.update(DagModel).where(ours).values(is_paused=False))
    try:
        yield
    finally:
        with create_session() as session:
            session.execute(sa.update(DagModel).where(DagModel.dag_id.in_(paused)).values(is_paused=True))


def _run_asset_triggered(bag, dag_id: str):
    """Make ``dag_id``'s asset-triggered run with the scheduler's own code (when its asset condition is met:
    the run consumes the events queued for it), then run its tasks in this process as ``dag.test()`` does.
    Returns the finished run, or None when the condition is not met."""
    import time

    from airflow.jobs.job import Job
    from airflow.jobs.scheduler_job_runner import SchedulerJobRunner
    from airflow.models.dag import DagModel
    from airflow.models.dagbag import DBDagBag
    from airflow.models.dagrun import DagRun
    from airflow.sdk.definitions.dag import _run_task
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState, TaskInstanceState
    from airflow.utils.types import DagRunType

    with create_session() as session:
        _, due = DagModel.dags_needing_dagruns(session)
        if dag_id not in due:
            return None
        SchedulerJobRunner(job=Job())._create_dag_runs_asset_triggered(
            dag_models=[session.get(DagModel, dag_id)], session=session)
    dag = bag.get_dag(dag_id)
    with create_session() as session:
        run = session.scalars(sa.select(DagRun).where(DagRun.dag_id == dag_id,
                                                      DagRun.run_type == DagRunType.ASSET_TRIGGERED,
                                                      DagRun.state == DagRunState.QUEUED)).one()
        run.dag = DBDagBag().get_dag_for_run(run, session=session)
        run.set_state(DagRunState.RUNNING)
        session.commit()
        while run.state == DagRunState.RUNNING:  # dag.test()'s loop, for a run it did not make
            session.expire_all()
            schedulable, _ = run.update_state(session=session)
            for ti in schedulable:
                ti.try_number += 1
                ti.state = TaskInstanceState.SCHEDULED
            session.commit()
            scheduled = [ti for ti in run.get_task_instances(session=session)
                         if ti.state == TaskInstanceState.SCHEDULED]
            if not scheduled and run.state == DagRunState.RUNNING:
                time.sleep(1)  # nothing runnable yet: look again
            for ti in scheduled:  # a task that fails is marked failed by _run_task, and the run with it
                _run_task(ti=ti, task=dag.task_dict[ti.task_id], run_triggerer=True)
        return run


def run_night_in_process(engine: sa.Engine, night: dt.date) -> dict[str, str]:
    """One night without Airflow, faster than ``dag.test()``: :func:`ridni.night.run_night` (the DAGs'
    steps, in their order), as ``{"ingest_<source>": drop status, "resolve_persons": ..., "publish_hq": ...}``."""
    from ridni.night import run_night

    out = {}
    for result in run_night(engine, night):
        out["publish_hq" if result.step in ("decide", "publish") else result.step] = result.status
    return out


def _print_summary(engine: sa.Engine, url: str) -> None:
    s = settings()
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT source_id, count(*) FILTER (WHERE withdrawn_on IS NULL), count(*) "
            "FROM core.source_record GROUP BY source_id ORDER BY source_id"
        )).all()
        quarantined = conn.execute(sa.text("SELECT count(*) FROM quarantine.rejected_row")).scalar()
        headline = None
        if conn.execute(sa.text("SELECT to_regclass('marts.headline')")).scalar():
            headline = conn.execute(sa.text(
                "SELECT grp, count_value FROM marts.headline WHERE night = (SELECT max(night) FROM marts.headline) "
                "ORDER BY ord")).all()
    print("\nsource records in the warehouse (current / all):")
    for source_id, current, total in rows:
        print(f"  {source_id:20} {current:>8} / {total}")
    print(f"  rows in quarantine: {quarantined}")
    if headline:
        print("\nheadline:")
        for grp, value in headline:
            print(f"  {grp:40} {value}")
    print(f"""
Airflow UI:  AIRFLOW_HOME={os.environ.get('AIRFLOW_HOME', '')} .venv/bin/airflow standalone  -> http://localhost:8080
warehouse:   {db.redacted(url)}
exports:     {s.exports}
Data Docs:   {s.data_docs}""")
