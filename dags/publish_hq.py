"""Airflow DAG file. Categories, marts and exports for headquarters: scheduled on ``ridni.persons``."""

from __future__ import annotations

from airflow.sdk import dag, task

from ridni import night as steps
from ridni.config import settings
from ridni.orchestration.schedule import (
    EXPORTS,
    PERSONS,
    START,
    carry_night,
    default_args,
    night_of,
    night_param,
)
from ridni.orchestration.warehouse import engine


@dag(
    dag_id="publish_hq",
    schedule=[PERSONS],
    start_date=START,
    catchup=False,
    max_active_runs=1,
    tags=["ridni", "publish"],
    params={"night": night_param()},
    default_args=default_args(),
    doc_md=f"""
### Publish for headquarters

**Reads** `core.person_link`, `core.source_record_version` (records as they stood on the night).
**Writes** `core.evidence`, `core.person_status` (SCD2), the marts (`marts.category_counts`,
`category_totals`, `headline`, `change_log`, `reconciliation`, `review_queue_size`; person counts below
`RIDNI_SUPPRESSION_THRESHOLD` suppressed) and the night's exports in `{settings().exports}/<night>/`
(CSV, XLSX, Parquet, summary.html, manifest.json); emits `ridni.exports` with the night.

**Which night**: the night the `ridni.persons` event carries (so a backfill of `resolve_persons` for a
past night publishes that night), or the `night` param when triggered by hand.

**When it fails**: nothing is published for the night (the exports appear all at once or not at all);
rerun the night: identical marts and byte-identical files. Backfill a past night by triggering with
`{{"night": "YYYY-MM-DD"}}`.
""",
)
def publish_hq():
    @task
    def decide_categories(**context) -> dict:
        return steps.decide(engine(), night_of(context), dag_run_id=context["run_id"]).counts

    @task
    def build_marts(decided: dict, **context) -> dict:
        return steps.marts(engine(), night_of(context), dag_run_id=context["run_id"])

    @task(outlets=[EXPORTS])
    def publish_exports(marts: dict, **context) -> str:
        night = night_of(context)
        folder = steps.exports(engine(), night)
        carry_night(context, EXPORTS, night)
        return folder

    publish_exports(build_marts(decide_categories()))


publish_hq()
