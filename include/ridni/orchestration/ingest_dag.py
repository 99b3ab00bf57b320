"""The DAG factory: one ingest DAG per source contract.

wait for the drop -> receive and archive -> verify the manifest -> parse, validate
and load (one transaction per file) -> Data Docs; the load task's outlet is the
source's asset, on which person resolution is scheduled.
"""

from __future__ import annotations

import datetime as dt
import logging

from airflow.sdk import DAG, Asset, BaseSensorOperator, dag, task
from airflow.sdk.exceptions import AirflowFailException, AirflowSensorTimeout

from ridni import alerts
from ridni.config import settings
from ridni.contracts import Contract
from ridni.ingest import drops
from ridni.orchestration import notify
from ridni.orchestration.triggers import ManifestTrigger
from ridni.orchestration.warehouse import engine

log = logging.getLogger(__name__)
NIGHTLY = "30 1 * * *"  # sources drop overnight; late drops are alerted at RIDNI_LATE_DROP_HOUR
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def source_asset(source_id: str) -> Asset:
    return Asset(name=f"ridni.source.{source_id}", uri=f"ridni://warehouse/core/source_record/{source_id}")


def night_of(context) -> dt.date:
    """The night a run is for: the ``night`` param when given, else the run's logical date."""
    night = (context.get("params") or {}).get("night")
    if night:
        return dt.date.fromisoformat(str(night))
    moment = context.get("logical_date") or context["dag_run"].run_after
    return moment.date()


def on_task_failure(context) -> None:
    """Failure callback: an alert naming DAG, task and the kind of error (never its values)."""
    ti = context["ti"]
    exc = context.get("exception")
    late = isinstance(exc, AirflowSensorTimeout) or "Timeout" in type(exc).__name__
    reason = exc.reason if isinstance(exc, drops.DropRejected) else type(exc).__name__
    notify.register_airflow_channels()
    try:
        with engine().begin() as conn:
            alerts.raise_alert(conn, alerts.Alert(
                kind="late_drop" if late and ti.task_id == "wait_for_drop" else "task_failed",
                severity="error",
                message=(f"no drop by {settings().late_drop_hour:02d}:00 UTC" if late and ti.task_id == "wait_for_drop"
                         else f"task {ti.task_id} failed after {ti.try_number} tries: {reason}"),
                source_id=(context.get("params") or {}).get("source_id"),
                extract_date=night_of(context),
                dag_id=ti.dag_id, dag_run_id=context["run_id"],
            ))
    except Exception as err:  # the warehouse itself may be what failed; the log line still goes out
        log.error("could not record the failure alert: %s", type(err).__name__)


class ManifestSensor(BaseSensorOperator):
    """Wait (deferred, in the triggerer) for ``manifest.json`` of the night's drop, until the late hour."""

    def __init__(self, *, source_id: str, poke_seconds: float = 60.0, **kwargs):
        super().__init__(**kwargs)
        self.source_id = source_id
        self.poke_seconds = poke_seconds

    def execute(self, context):
        night = night_of(context)
        landing = settings().landing
        if drops.manifest_present(landing, self.source_id, night):
            return
        deadline = dt.datetime.combine(night, dt.time(settings().late_drop_hour), tzinfo=dt.UTC)
        remaining = deadline - dt.datetime.now(dt.UTC)
        if remaining <= dt.timedelta(0):
            self._late(context, night)
        self.defer(
            trigger=ManifestTrigger(landing, self.source_id, night.isoformat(), self.poke_seconds),
            method_name="execute_complete",
            timeout=remaining,
        )

    def _late(self, context, night: dt.date):
        """Past the late hour: an incomplete drop (files, no manifest) is archived and rejected; then fail."""
        from ridni.ingest.run import reject_incomplete

        reject_incomplete(engine(), self.source_id, night, dag_id=context["dag"].dag_id,
                          dag_run_id=context["run_id"])
        raise AirflowSensorTimeout(f"no manifest for {self.source_id} {night} by the late hour")

    def execute_complete(self, context, event=None):
        log.info("drop arrived: %s", event)


def _doc(contract: Contract) -> str:
    return f"""
### Ingest `{contract.source_id}`: {contract.title}

**Reads** the night's drop `<landing>/{contract.source_id}/<YYYY-MM-DD>/` ({contract.format},
{contract.cadence}; contract `include/ridni/contracts/{contract.source_id}.yaml`, documented in
`docs/sources.md`).

**Writes** `raw.drop`, `raw.file` (archive by sha256), `staging.load`, `staging.record`,
`quarantine.*`, `core.source_record` (+ versions), `audit.validation`, `audit.alert`; emits the asset
`ridni.source.{contract.source_id}`.

**When it fails**: read the task log: it names the file, the line and the reason; the rejected drop or
rows are in `quarantine.rejected_drop` / `quarantine.rejected_row`, the archived files in `raw.file`,
the validation in Data Docs (`{settings().data_docs}`). Fix or ask the source for a new drop, then clear
the run. A rerun of a loaded night changes nothing.
"""


def build_ingest_dag(contract: Contract) -> DAG:
    source_id = contract.source_id

    @dag(
        dag_id=f"ingest_{source_id}",
        schedule=NIGHTLY,
        start_date=START,
        catchup=False,
        max_active_runs=1,  # nights of a source load in order (register deltas depend on it)
        tags=["ridni", "ingest", contract.cadence],
        doc_md=_doc(contract),
        # confirm_withdrawals: an operator's confirmation of the withdrawals the night's snapshot held
        params={"night": None, "source_id": source_id, "confirm_withdrawals": False},
        default_args={
            "owner": "ridni-data-engineering",
            "retries": settings().task_retries,
            "retry_delay": dt.timedelta(minutes=2),
            "retry_exponential_backoff": True,
            "max_retry_delay": dt.timedelta(minutes=30),
            "on_failure_callback": on_task_failure,
        },
    )
    def ingest():
        if contract.cadence == "event":
            @task.short_circuit(task_id="check_for_drop")
            def check_for_drop() -> bool:
                """Event sources send nothing on most nights: that is normal, the rest is skipped."""
                from airflow.sdk import get_current_context

                present = drops.manifest_present(settings().landing, source_id, night_of(get_current_context()))
                log.info("drop present: %s", present)
                return present

            gate = check_for_drop()
        else:
            gate = ManifestSensor(task_id="wait_for_drop", source_id=source_id, retries=0)

        @task
        def receive_and_archive(**context) -> int:
            s = settings()
            with engine().begin() as conn:
                drop = drops.receive(conn, landing=s.landing, archive=s.archive, source_id=source_id,
                                     night=night_of(context))
            log.info("drop %s archived: %d file(s)", drop.drop_id, len(drop.files))
            return drop.drop_id

        @task
        def verify_manifest(drop_id: int, **context) -> int:
            from ridni.ingest.load import reject_drop

            with engine().begin() as conn:
                drop = drops.get(conn, drop_id)
                try:
                    drops.verify(drop, contract.file_pattern)
                except drops.DropRejected as exc:
                    reject_drop(conn, drop, exc, dag_id=context["dag"].dag_id, dag_run_id=context["run_id"])
                    failure = exc
                else:
                    return drop_id
            raise AirflowFailException(f"drop {drop_id} rejected: {failure.reason}")

        @task(outlets=[source_asset(source_id)])
        def parse_validate_load(drop_id: int, **context) -> dict:
            from ridni.ingest.load import load_drop

            s = settings()
            with engine().connect() as conn:
                drop = drops.get(conn, drop_id)
            report = load_drop(engine(), contract, drop, max_bad_row_share=s.max_bad_row_share,
                               max_volume_change=s.max_volume_change, dag_id=context["dag"].dag_id,
                               dag_run_id=context["run_id"],
                               confirm_withdrawals_held=bool(context["params"].get("confirm_withdrawals")))
            log.info("load %s: %s, %d loaded, %d quarantined, %d withdrawn", source_id, report.status,
                     report.rows_loaded, report.rows_quarantined, report.withdrawn)
            if report.status in ("rejected", "held"):
                raise AirflowFailException(f"drop {drop_id} {report.status}: {report.reason} (see quarantine)")
            return {"status": report.status, "loaded": report.rows_loaded,
                    "quarantined": report.rows_quarantined, "withdrawn": report.withdrawn}

        @task
        def build_data_docs(summary: dict, **context) -> str:
            from ridni.ingest.run import build_data_docs_for_night

            with engine().begin() as conn:
                return build_data_docs_for_night(conn, source_id, night_of(context), settings().data_docs)

        drop_id = receive_and_archive()
        gate >> drop_id
        build_data_docs(parse_validate_load(verify_manifest(drop_id)))

    notify.register_airflow_channels()
    return ingest()
