"""The DAGs after ingestion: person resolution on the sources' assets, publishing on the persons asset."""

from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG, Asset, AssetAll, AssetOrTimeSchedule, CronTriggerTimetable, dag, task

from ridni.config import settings
from ridni.orchestration.ingest_dag import START, night_of, on_task_failure, source_asset
from ridni.orchestration.warehouse import engine

PERSONS = Asset(name="ridni.persons", uri="ridni://warehouse/core/person_link")
EXPORTS = Asset(name="ridni.exports", uri="ridni://exports/night")
def default_args() -> dict:
    """Read when a DAG is built (not at import), so the retry setting of the parsing process applies."""
    return {
        "owner": "ridni-data-engineering",
        "retries": settings().task_retries,
        "retry_delay": dt.timedelta(minutes=5),
        "retry_exponential_backoff": True,
        "on_failure_callback": on_task_failure,
    }


def build_resolve_dag(source_ids: list[str], event_source_ids: list[str]) -> DAG:
    # Runs when every nightly source has landed, or at 07:00 UTC with whatever has (a late or refused
    # source must not hold back the morning figures). Event sources (exchanges) are read when present.
    nightly = [source_asset(s) for s in source_ids if s not in event_source_ids]

    @dag(
        dag_id="resolve_persons",
        schedule=AssetOrTimeSchedule(timetable=CronTriggerTimetable("0 7 * * *", timezone="UTC"),
                                     assets=AssetAll(*nightly)),
        start_date=START,
        catchup=False,
        max_active_runs=1,
        tags=["ridni", "linkage"],
        params={"night": None, "full": False, "retrain": False},
        default_args=default_args(),
        doc_md="""
### Resolve persons

**Reads** `core.source_record` (all sources), reviewers' decisions in `core.review_pair`.
**Writes** `core.link_record` (standardised features), `core.link_edge` (every link with its rule or match
weight and comparison levels), `core.linkage_model`, `core.person`, `core.person_link`,
`core.person_event` (merges, splits), the review queue `core.review_pair`; emits `ridni.persons`.

Deterministic keys first (RNOKPP, service number, the register's appeal references), then Splink 5 on
DuckDB. Incremental: only records new or changed since the last run are standardised and scored (with
the stored model) and only the persons they touch are clustered again. The model is retrained, and
every pair scored again, when it is older than `RIDNI_LINKAGE_RETRAIN_DAYS` (default 7) or when the
run is triggered with the param `retrain` (`full` scores every pair again with the stored model).
A reviewer's `different` keeps two records apart even across a chain of links. Person ids stay the
same from night to night.

**When it fails**: the log says which step; nothing is half-written (one transaction). Clear the task to
rerun; a rerun gives the same persons.
""",
    )
    def resolve():
        @task(outlets=[PERSONS])
        def link_records_to_persons(**context) -> dict:
            from ridni.linkage.run import resolve_persons

            params = context.get("params") or {}
            return resolve_persons(engine(), night_of(context), dag_run_id=context["run_id"],
                                   full=bool(params.get("full")), retrain=bool(params.get("retrain")))

        link_records_to_persons()

    return resolve()


def build_publish_dag() -> DAG:
    @dag(
        dag_id="publish_hq",
        schedule=[PERSONS],
        start_date=START,
        catchup=False,
        max_active_runs=1,
        tags=["ridni", "publish"],
        params={"night": None},
        default_args=default_args(),
        doc_md=f"""
### Publish for headquarters

**Reads** `core.person_link`, `core.source_record_version` (records as they stood on the night).
**Writes** `core.evidence`, `core.person_status` (SCD2), the marts (`marts.category_counts`,
`category_totals`, `headline`, `change_log`, `reconciliation`, `review_queue_size`) and the night's
exports in `{settings().exports}/<night>/` (CSV, XLSX, Parquet, summary.html, manifest.json); emits
`ridni.exports`.

**When it fails**: nothing is published for the night (the exports appear all at once or not at all);
rerun the night: identical marts and byte-identical files. Backfill a past night by triggering with
`{{"night": "YYYY-MM-DD"}}`.
""",
    )
    def publish():
        @task
        def decide_categories(**context) -> dict:
            from ridni.decide.run import decide_night

            return decide_night(engine(), night_of(context), dag_run_id=context["run_id"])

        @task
        def build_marts(decided: dict, **context) -> dict:
            from ridni.publish.marts import build_marts as build

            return build(engine(), night_of(context), threshold=settings().suppression_threshold,
                         dag_run_id=context["run_id"])

        @task(outlets=[EXPORTS])
        def publish_exports(marts: dict, **context) -> str:
            from ridni.publish.exports import publish_night

            return str(publish_night(engine(), night_of(context), settings().exports))

        publish_exports(build_marts(decide_categories()))

    return publish()
