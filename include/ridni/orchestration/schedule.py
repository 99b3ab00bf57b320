"""What the nightly DAGs share: their assets, start date, task defaults, params, and how a run finds its night.

A night travels with the data: each ingest run puts the night it loaded on its asset event
(``extra={"night": "YYYY-MM-DD"}``), ``resolve_persons`` reads it from the events that triggered it and
puts it on the ``ridni.persons`` event, from which ``publish_hq`` reads it. So a backfill of a past night
publishes that night, whatever the day the runs happen on.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping

from airflow.sdk import Asset, Param

from ridni.config import settings

log = logging.getLogger(__name__)
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
PERSONS = Asset(name="ridni.persons", uri="ridni://warehouse/core/person_link")
EXPORTS = Asset(name="ridni.exports", uri="ridni://exports/night")


def source_asset(source_id: str) -> Asset:
    return Asset(name=f"ridni.source.{source_id}", uri=f"ridni://warehouse/core/source_record/{source_id}")


def default_args() -> dict:
    """Every task's defaults. Read when a DAG is built (not at import), so the parsing process's
    ``RIDNI_TASK_RETRIES`` applies; the notifier records a failure as an alert and sends alerts on."""
    from ridni.orchestration.notify import AlertNotifier

    return {
        "owner": "ridni-data-engineering",
        "retries": settings().task_retries,
        "retry_delay": dt.timedelta(minutes=2),
        "retry_exponential_backoff": True,
        "max_retry_delay": dt.timedelta(minutes=30),
        "on_failure_callback": AlertNotifier(task_failed=True),
        "on_success_callback": AlertNotifier(),
    }


def night_param() -> Param:
    return Param(None, type=["null", "string"], format="date", title="Night",
                 description="YYYY-MM-DD: run for this night (a backfill). Empty: the night the triggering "
                             "asset events carry, else the run's own date.")


def night_of(context: Mapping) -> dt.date:
    """The night a run is for: the ``night`` param when given; in an asset-triggered run, the night its
    triggering events carry (the latest, when they carry several); else the run's logical date."""
    night = (context.get("params") or {}).get("night")
    if night:
        return dt.date.fromisoformat(str(night))
    carried = sorted({dt.date.fromisoformat(str(e.extra["night"]))
                      for events in (context.get("triggering_asset_events") or {}).values()
                      for e in events if (e.extra or {}).get("night")})
    if len(carried) > 1:
        log.warning("the triggering events carry nights %s: running for the latest", [str(n) for n in carried])
    if carried:
        return carried[-1]
    moment = context.get("logical_date") or context["dag_run"].run_after
    return moment.date()


def carry_night(context: Mapping, asset: Asset, night: dt.date) -> None:
    """Put the night on the asset event the running task emits."""
    context["outlet_events"][asset].extra = {"night": night.isoformat()}
