"""The DAG factory: one ingest DAG per source contract, one DAG file per source (``dags/ingest_<source_id>.py``).

wait for the drop -> receive, archive, verify the manifest, parse, validate and load (``ridni.night.ingest``,
one transaction per file) -> Data Docs. The load task emits the source's asset with the night it loaded,
on which person resolution is scheduled.
"""

from __future__ import annotations

import datetime as dt
import logging

from airflow.sdk import DAG, BaseSensorOperator, Param, dag, task
from airflow.sdk.exceptions import AirflowFailException, AirflowSensorTimeout

from ridni import night as steps
from ridni.config import settings
from ridni.contracts import Contract, load
from ridni.ingest import drops
from ridni.orchestration.schedule import START, carry_night, default_args, night_of, night_param, source_asset
from ridni.orchestration.triggers import ManifestTrigger
from ridni.orchestration.warehouse import engine

log = logging.getLogger(__name__)
NIGHTLY = "30 1 * * *"  # sources drop overnight; late drops are alerted at RIDNI_LATE_DROP_HOUR


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
`ridni.source.{contract.source_id}` with the night it loaded (`extra: {{"night": "YYYY-MM-DD"}}`).

**Params**: `night` (YYYY-MM-DD) loads that night's drop; empty, the night of the run's date.

**When it fails**: read the task log: it names the file, the line and the reason; the rejected drop or
rows are in `quarantine.rejected_drop` / `quarantine.rejected_row`, the archived files in `raw.file`,
the validation in Data Docs (`{settings().data_docs}`). Fix or ask the source for a new drop, then clear
the run. A rerun of a loaded night changes nothing.
"""


def build_ingest_dag(contract: Contract) -> DAG:
    source_id = contract.source_id
    asset = source_asset(source_id)

    @dag(
        dag_id=f"ingest_{source_id}",
        schedule=NIGHTLY,
        start_date=START,
        catchup=False,
        max_active_runs=1,  # nights of a source load in order (register deltas depend on it)
        tags=["ridni", "ingest", contract.cadence],
        doc_md=_doc(contract),
        params={"night": night_param(),
                "source_id": Param(source_id, type="string", const=source_id, title="Source",
                                   description="the source this DAG ingests (fixed)"),
                "confirm_withdrawals": Param(False, type="boolean", title="Confirm held withdrawals",
                                             description="apply the withdrawals the night's snapshot held "
                                                         "(it left out more records than the contract allows)")},
        default_args=default_args(),
    )
    def ingest():
        if contract.cadence == "event":
            @task.short_circuit(task_id="check_for_drop")
            def check_for_drop(**context) -> bool:
                """Event sources send nothing on most nights: that is normal, the rest is skipped."""
                present = drops.manifest_present(settings().landing, source_id, night_of(context))
                log.info("drop present: %s", present)
                return present

            gate = check_for_drop()
        else:
            gate = ManifestSensor(task_id="wait_for_drop", source_id=source_id, retries=0)

        @task(outlets=[asset])
        def receive_verify_load(**context) -> dict:
            night = night_of(context)
            result = steps.ingest(engine(), source_id, night, dag_id=context["dag"].dag_id,
                                  dag_run_id=context["run_id"],
                                  confirm_withdrawals=bool(context["params"].get("confirm_withdrawals")))
            log.info("%s", result.line())
            if not result.ok:
                raise AirflowFailException(f"{source_id} {night}: drop {result.status}: {result.reason} "
                                           "(see quarantine)")
            carry_night(context, asset, night)
            return {"status": result.status, **result.counts}

        @task
        def build_data_docs(loaded: dict, **context) -> str:
            return steps.data_docs(engine(), source_id, night_of(context))

        loaded = receive_verify_load()
        gate >> loaded
        build_data_docs(loaded)

    return ingest()


def ingest_dag(source_id: str) -> DAG:
    """The ingest DAG of ``source_id``, from its contract alone.

    Each source's DAG file calls this, so a contract that does not load (:class:`ridni.contracts.ContractError`,
    naming the file and the JSON path) fails that file's import only: Airflow lists it as that file's import
    error and parses the other sources' DAG files as usual.
    """
    return build_ingest_dag(load(source_id))
