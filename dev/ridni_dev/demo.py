"""The demo: a night of generated extracts through the real DAGs, then the headline figures.

Runs the ingest DAGs as manual runs of the night (Airflow's in-process runner that ``dag.test()`` uses, on
the local Airflow home's metadata DB), then the downstream DAGs as their assets trigger them. Each run is
dated at its night and started now (a backfill), and each task writes its log where the Airflow UI reads
it (the Airflow home's ``base_log_folder``). The console gets one line per DAG run and the summary; every
log goes to a file whose path is printed. Safe to run again: the same drops are recognised by sha256 and
nothing changes. :func:`run_night_in_process` runs the same steps without Airflow (``ridni.night``; for
tests that need a demo warehouse fast).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from ridni import db
from ridni.config import PROJECT_ROOT, settings

log = logging.getLogger(__name__)
DEMO_START = dt.date(2026, 11, 1)
# The DAGs after the ingest DAGs, in the order their assets trigger them.
DOWNSTREAM = ["resolve_persons", "publish_hq"]
# Called as each DAG run ends: (dag id, state, seconds from its start to its end).
RunReport = Callable[[str, str, float], None]


def _airflow_connection(url: str) -> str:
    """The warehouse URL as an Airflow connection (JSON form: a socket folder as host survives it)."""
    u = make_url(url)
    return json.dumps({"conn_type": "postgres", "host": u.host or u.query.get("host"), "port": u.port,
                       "login": u.username, "password": u.password, "schema": u.database})


def demo_log_path() -> Path:
    return settings().data_dir / "demo.log"


@contextlib.contextmanager
def _output_to(path: Path, *, mode: str = "w") -> Iterator[None]:
    """Everything this process writes to its stdout and stderr (print, logging, warnings, libraries'
    own output) goes to ``path`` inside the block, at the file-descriptor level."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if mode == "w" else os.O_APPEND)
    target = os.open(path, flags, 0o644)
    try:
        os.dup2(target, 1)
        os.dup2(target, 2)
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (target, *saved):
            os.close(fd)


def run_demo(*, persons: int = 3000, nights: int = 1, seed: int = 1) -> int:
    s = settings()
    if not os.environ.get("RIDNI_PSEUDONYM_KEY") and not os.environ.get("AIRFLOW_CONN_RIDNI_PSEUDONYM_KEY"):
        from ridni.privacy import demo_key

        os.environ["RIDNI_PSEUDONYM_KEY"] = demo_key(s.data_dir)  # the demo's own key, made explicitly
    s.data_dir.mkdir(parents=True, exist_ok=True)
    log_path = demo_log_path()
    console = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    failed = []
    try:
        with _output_to(log_path):
            url, where = db.resolve_url()
            print(f"warehouse: {db.redacted(url)} ({where})", file=console)
            db.upgrade(url)

            from ridni_dev.synth import generate

            generate(s.data_dir, seed=seed, persons=persons, nights=nights, start_date=DEMO_START)
            print(f"extracts:  {s.landing} (ground truth in {s.data_dir / 'truth'})", file=console)

            for n in range(nights):
                night = DEMO_START + dt.timedelta(days=n)

                def report(dag_id: str, state: str, seconds: float, night=night) -> None:
                    print(f"{night}  {dag_id:28} {state:13} {seconds:6.1f} s", file=console)
                    if state != "success":
                        failed.append((night, dag_id))

                run_nightly_dags(url, night, report=report)
            from ridni_dev.ui import prepare_airflow_home

            prepare_airflow_home(url)
            _print_summary(db.make_engine(url), console)
            if failed:
                print(f"\n{len(failed)} DAG run(s) did not succeed: their task logs are in the UI and in {log_path}",
                      file=console)
    except BaseException:
        print(f"the demo stopped: its full log is {log_path}", file=console)
        raise
    finally:
        console.close()
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
    """Run one DAG for ``night`` through Airflow (a manual run, its tasks in this process); return the run's
    state.

    The run's logical date is the night at ``at`` (UTC), and with ``conf`` it is triggered with
    ``{"night": ...}`` as an operator would; a run of the same DAG and logical date is replaced.
    """
    os.environ["AIRFLOW_CONN_RIDNI_WAREHOUSE"] = _airflow_connection(url)
    if bag is None:
        bag = _dagbag()
        _sync_to_db(bag)
    logical = dt.datetime.combine(night, at, tzinfo=dt.UTC)
    return _state(_run_manual(bag.get_dag(dag_id), logical, {"night": night.isoformat()} if conf else None))


def run_nightly_dags(url: str, night: dt.date, at: dt.time = dt.time(3), *,
                     report: RunReport | None = None) -> dict[str, str]:
    """Run every nightly DAG for ``night`` as the scheduler runs them, and return each one's state.

    The ingest DAGs run at the night's date (``at`` UTC), as their schedule or a backfill runs them. Then
    ``resolve_persons`` and ``publish_hq`` run when their assets say so: from the asset events the runs
    before them emitted (with the night they carry), the way Airflow's scheduler makes an asset-triggered
    run; if a source's asset was not updated (its drop refused), ``resolve_persons`` runs at its 07:00 time
    instead. The runs happen now, whatever the night: a past night is a backfill. ``report`` hears of each
    run as it ends.
    """
    os.environ["AIRFLOW_CONN_RIDNI_WAREHOUSE"] = _airflow_connection(url)
    bag = _dagbag()
    states: dict[str, str] = {}

    def done(dag_id: str, run) -> None:
        states[dag_id] = _state(run) if run is not None else "not triggered"
        if report is not None:
            seconds = (run.end_date - run.start_date).total_seconds() if run is not None and run.end_date else 0.0
            report(dag_id, states[dag_id], seconds)

    with _unpaused(bag):
        for dag_id in sorted(d for d in bag.dag_ids if d.startswith("ingest_")):
            done(dag_id, _run_manual(bag.get_dag(dag_id), dt.datetime.combine(night, at, tzinfo=dt.UTC), None))
        for dag_id in DOWNSTREAM:
            run = _run_asset_triggered(bag, dag_id)
            if run is None and dag_id == "resolve_persons":
                run = _run_manual(bag.get_dag(dag_id), dt.datetime.combine(night, dt.time(7), tzinfo=dt.UTC), None)
            done(dag_id, run)
    return states


def _sync_to_db(bag) -> None:
    """The DAGs written to Airflow's metadata DB (serialized, with their versions), as ``dag.test()`` does."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import sync_bag_to_db

    DagBundlesManager().sync_bundles_to_db()
    sync_bag_to_db(bag, "dags-folder", None)


@contextlib.contextmanager
def _unpaused(bag) -> Iterator[None]:
    """The DAGs written to Airflow's metadata DB and unpaused while the night runs (Airflow queues asset
    events only for DAGs that are not paused); paused as before afterwards, so that a scheduler started
    later on this Airflow home does not run them by itself."""
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session

    _sync_to_db(bag)
    ours = DagModel.dag_id.in_(bag.dag_ids)
    with create_session() as session:
        paused = list(session.scalars(sa.select(DagModel.dag_id).where(ours, DagModel.is_paused)))
        session.execute(sa.update(DagModel).where(ours).values(is_paused=False))
    try:
        yield
    finally:
        with create_session() as session:
            session.execute(sa.update(DagModel).where(DagModel.dag_id.in_(paused)).values(is_paused=True))


def _run_manual(dag, logical: dt.datetime, conf: dict | None):
    """A manual run of ``dag`` at ``logical``, made as ``dag.test()`` makes it (a run of the same logical
    date is replaced) but started now, not at its logical date: a past night's run shows its real start and
    duration. Its tasks run in this process (:func:`_run_to_end`); returns the finished run."""
    from airflow.models.dagrun import DagRun, get_or_create_dagrun
    from airflow.sdk import timezone
    from airflow.serialization.definitions.dag import SerializedDAG
    from airflow.serialization.encoders import coerce_to_core_timetable
    from airflow.serialization.serialized_objects import DagSerialization
    from airflow.utils.session import create_session
    from airflow.utils.types import DagRunTriggeredByType, DagRunType

    dag.validate()
    scheduler_dag = DagSerialization.deserialize_dag(DagSerialization.serialize_dag(dag))
    SerializedDAG.clear_dags(dags=[scheduler_dag], start_date=logical, end_date=logical, dag_run_state=False)
    now = timezone.utcnow()
    with create_session() as session:
        run = get_or_create_dagrun(
            dag=scheduler_dag, logical_date=logical, run_after=now, start_date=now, conf=conf,
            data_interval=coerce_to_core_timetable(dag.timetable).infer_manual_data_interval(run_after=logical),
            run_id=DagRun.generate_run_id(run_type=DagRunType.MANUAL, logical_date=logical, run_after=now),
            triggered_by=DagRunTriggeredByType.TEST, triggering_user_name="ridni demo", session=session)
        return _run_to_end(dag, run, session)


def _run_asset_triggered(bag, dag_id: str):
    """Make ``dag_id``'s asset-triggered run with the scheduler's own code (when its asset condition is met:
    the run consumes the events queued for it), then run its tasks in this process (:func:`_run_to_end`).
    Returns the finished run, or None when the condition is not met."""
    from airflow.jobs.job import Job
    from airflow.jobs.scheduler_job_runner import SchedulerJobRunner
    from airflow.models.dag import DagModel
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState
    from airflow.utils.types import DagRunType

    with create_session() as session:
        _, due = DagModel.dags_needing_dagruns(session)
        if dag_id not in due:
            return None
        SchedulerJobRunner(job=Job())._create_dag_runs_asset_triggered(
            dag_models=[session.get(DagModel, dag_id)], session=session)
    with create_session() as session:
        run = session.scalars(sa.select(DagRun).where(DagRun.dag_id == dag_id,
                                                      DagRun.run_type == DagRunType.ASSET_TRIGGERED,
                                                      DagRun.state == DagRunState.QUEUED)).one()
        run.set_state(DagRunState.RUNNING)
        session.commit()
        return _run_to_end(bag.get_dag(dag_id), run, session)


def _run_to_end(dag, run, session):
    """``dag.test()``'s loop: schedule what is ready, run it in this process, until the run ends. Each task
    try logs to its own file under the Airflow home's ``base_log_folder``, where the UI reads it."""
    from airflow.models.dagbag import DBDagBag
    from airflow.sdk import timezone
    from airflow.sdk.definitions.dag import _run_task
    from airflow.utils.state import DagRunState, TaskInstanceState

    if getattr(run, "dag", None) is None:
        run.dag = DBDagBag().get_dag_for_run(run, session=session)
    while run.state == DagRunState.RUNNING:
        session.expire_all()
        schedulable, _ = run.update_state(session=session)
        for ti in schedulable:
            if ti.state != TaskInstanceState.UP_FOR_RESCHEDULE:
                ti.try_number += 1
            ti.state = TaskInstanceState.SCHEDULED
            ti.scheduled_dttm = timezone.utcnow()
        session.commit()
        scheduled = [ti for ti in run.get_task_instances(session=session)
                     if ti.state == TaskInstanceState.SCHEDULED]
        if not scheduled and run.state == DagRunState.RUNNING:
            time.sleep(1)  # nothing runnable yet: look again
        for ti in scheduled:  # a task that fails is marked failed by _run_task, and the run with it
            with _task_log(ti):
                try:
                    _run_task(ti=ti, task=dag.task_dict[ti.task_id], run_triggerer=True)
                except Exception:
                    log.exception("task %s of %s failed", ti.task_id, ti.dag_id)
    return run


@contextlib.contextmanager
def _task_log(ti) -> Iterator[Path]:
    """The output of one task try into its log file (the path Airflow's file task handler reads:
    ``log_filename_template`` under ``base_log_folder``); copied to this process's output afterwards."""
    from airflow.sdk.log import init_log_file
    from airflow.utils.helpers import log_filename_template_renderer

    path = init_log_file(log_filename_template_renderer()(ti=ti))
    with _output_to(path, mode="a"):
        yield path
    sys.stdout.write(path.read_text(errors="replace"))
    sys.stdout.flush()


def run_night_in_process(engine: sa.Engine, night: dt.date) -> dict[str, str]:
    """One night without Airflow, faster than ``dag.test()``: :func:`ridni.night.run_night` (the DAGs'
    steps, in their order), as ``{"ingest_<source>": drop status, "resolve_persons": ..., "publish_hq": ...}``."""
    from ridni.night import run_night

    out = {}
    for result in run_night(engine, night):
        out["publish_hq" if result.step in ("decide", "publish") else result.step] = result.status
    return out


def _print_summary(engine: sa.Engine, out: TextIO) -> None:
    s = settings()
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT source_id, count(*) FILTER (WHERE withdrawn_on IS NULL), count(*) "
            "FROM core.source_record GROUP BY source_id ORDER BY source_id"
        )).all()
        quarantined = conn.execute(sa.text("SELECT count(*) FROM quarantine.rejected_row")).scalar()
        headline, night = [], None
        if conn.execute(sa.text("SELECT to_regclass('marts.headline')")).scalar():
            night = conn.execute(sa.text("SELECT max(night) FROM marts.headline")).scalar()
            headline = conn.execute(sa.text(
                "SELECT grp, count_value, change FROM marts.headline WHERE night = :n ORDER BY ord"),
                {"n": night}).all()
    print(f"\nsource records in the warehouse (current / all; {quarantined} rows in quarantine):", file=out)
    for source_id, current, total in rows:
        print(f"  {source_id:20} {current:>8} / {total}", file=out)
    if headline:
        print(f"\nheadline of {night} (change since the night before):", file=out)
        for grp, value, change in headline:
            shown = "<suppressed>" if value is None else value
            print(f"  {grp:40} {shown:>8}  {'' if change is None else f'{change:+d}'}", file=out)
    from ridni_dev import ui

    print(f"""
exports:     {s.exports}
Data Docs:   {s.data_docs}
full log:    {demo_log_path()}

Next, the Airflow UI and the headquarters page on this warehouse:
  bash bin/ui        starts Airflow in the background (this Airflow home, the project's DAGs and plugin)
  then open          http://localhost:8080/ridni-hq/   user {ui.USER}, password {ui.password(ui.airflow_home())}
  bash bin/ui stop   stops the UI and the demo's embedded PostgreSQL""", file=out)
