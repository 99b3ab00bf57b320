"""Airflow DAG file. Person resolution: scheduled on the sources' assets, emits ``ridni.persons``."""

from __future__ import annotations

from airflow.sdk import AssetAll, AssetOrTimeSchedule, CronTriggerTimetable, Param, dag, task

from ridni import night as steps
from ridni.contracts import contracts_that_load
from ridni.orchestration.schedule import (
    PERSONS,
    START,
    carry_night,
    default_args,
    night_of,
    night_param,
    source_asset,
)
from ridni.orchestration.warehouse import engine

# Runs when every nightly source has landed, or at 07:00 UTC with whatever has (a late or refused source
# must not hold back the morning figures). Event sources (exchanges) are read when present. A source whose
# contract is broken has no DAG (its DAG file's import error says why) and is not waited for.
NIGHTLY_SOURCES = [source_asset(c.source_id) for c in contracts_that_load() if c.cadence != "event"]


@dag(
    dag_id="resolve_persons",
    schedule=AssetOrTimeSchedule(timetable=CronTriggerTimetable("0 7 * * *", timezone="UTC"),
                                 assets=AssetAll(*NIGHTLY_SOURCES)),
    start_date=START,
    catchup=False,
    max_active_runs=1,
    tags=["ridni", "linkage"],
    params={
        "night": night_param(),
        "full": Param(False, type="boolean", title="Score every pair again",
                      description="with the stored model, instead of only new and changed records"),
        "retrain": Param(False, type="boolean", title="Retrain the model",
                         description="train the linkage model again, then score every pair"),
    },
    default_args=default_args(),
    doc_md="""
### Resolve persons

**Reads** `core.source_record` (all sources), reviewers' decisions in `core.review_pair`.
**Writes** `core.link_record` (standardised features), `core.link_edge` (every link with its rule or match
weight and comparison levels), `core.linkage_model`, `core.person`, `core.person_link`,
`core.person_event` (merges, splits), the review queue `core.review_pair`; emits `ridni.persons` with the
night (`extra: {"night": "YYYY-MM-DD"}`).

**Which night**: the `night` param when given; in a run triggered by the sources' assets, the night their
events carry (the latest, when several); at 07:00, that day.

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
def resolve_persons():
    @task(outlets=[PERSONS])
    def link_records_to_persons(**context) -> dict:
        night = night_of(context)
        params = context["params"]
        result = steps.resolve(engine(), night, full=params["full"], retrain=params["retrain"],
                               dag_run_id=context["run_id"])
        carry_night(context, PERSONS, night)
        return result.counts

    link_records_to_persons()


resolve_persons()
