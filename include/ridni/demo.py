"""The demo: a night of generated extracts through the real DAGs, then the headline figures.

Runs each DAG with ``dag.test()`` (Airflow's own in-process runner, on the local
Airflow home's metadata DB) in dependency order. Safe to run again: the same
drops are recognised by sha256 and nothing changes. :func:`run_night_in_process`
runs the same steps without Airflow (for tests that need a demo warehouse fast).
"""

from __future__ import annotations

import datetime as dt
import json
import os

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from ridni import db
from ridni.config import PROJECT_ROOT, settings

DEMO_START = dt.date(2026, 11, 1)
# Downstream DAGs after the ingest DAGs, in dependency order, when they exist.
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

    from ridni.synth import generate

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


def run_dag(url: str, dag_id: str, night: dt.date, at: dt.time = dt.time(3), bag=None) -> str:
    """Run one DAG for ``night`` through Airflow (``dag.test()``); return the run's state.

    The run's logical date is the night at ``at`` (UTC): running a night again finds its run, finished,
    and changes nothing; a run that failed before is resumed.
    """
    os.environ["AIRFLOW_CONN_RIDNI_WAREHOUSE"] = _airflow_connection(url)
    bag = bag or _dagbag()
    logical = dt.datetime.combine(night, at, tzinfo=dt.UTC)
    run = bag.get_dag(dag_id).test(logical_date=logical, run_conf={"night": night.isoformat()})
    state = getattr(run, "state", None)
    return str(getattr(state, "value", state))


def run_nightly_dags(url: str, night: dt.date, at: dt.time = dt.time(3)) -> dict[str, str]:
    """Run every nightly DAG for ``night``, in dependency order: the ingest DAGs, then downstream."""
    bag = _dagbag()
    order = sorted(d for d in bag.dag_ids if d.startswith("ingest_")) + [d for d in DOWNSTREAM if d in bag.dag_ids]
    return {dag_id: run_dag(url, dag_id, night, at, bag) for dag_id in order}


def run_night_in_process(engine: sa.Engine, night: dt.date) -> dict[str, str]:
    """One night without Airflow: what the nightly DAGs' tasks do, in their order (faster than ``dag.test()``).

    Each ingest DAG (receive, verify, parse-validate-load, then Data Docs when the drop was not refused),
    then ``resolve_persons``, then ``publish_hq`` (categories, marts with the configured suppression
    threshold, exports into ``RIDNI_EXPORTS``). Returns each source's drop status, then "success" for
    the two downstream DAGs. A source without a drop is "no_drop" (its DAG would wait for it, then alert).
    """
    from ridni.contracts import all_contracts
    from ridni.decide.run import decide_night
    from ridni.ingest.run import build_data_docs_for_night, ingest_source
    from ridni.linkage.run import resolve_persons
    from ridni.publish.exports import publish_night
    from ridni.publish.marts import build_marts

    s = settings()
    out: dict[str, str] = {}
    for contract in all_contracts():
        report = ingest_source(engine, contract.source_id, night)
        out[f"ingest_{contract.source_id}"] = report.status
        if report.status not in ("no_drop", "rejected", "held"):
            with engine.begin() as conn:
                build_data_docs_for_night(conn, contract.source_id, night, s.data_docs)
    resolve_persons(engine, night)
    out["resolve_persons"] = "success"
    decide_night(engine, night)
    build_marts(engine, night, threshold=s.suppression_threshold)
    publish_night(engine, night, s.exports)
    out["publish_hq"] = "success"
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
