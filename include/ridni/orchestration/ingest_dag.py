"""The DAG factory: one ingest DAG per source contract, one DAG file per source (``dags/ingest_<source_id>.py``).

wait for the drop -> receive, archive, verify the manifest, parse, validate and load (``ridni.night.ingest``,
one transaction per file) -> Data Docs, and the quarantine check. The load task emits the source's asset
with the night it loaded and the drop's row counts, on which person resolution is scheduled. The check
fails (red in the UI, an alert through the tasks' notifier) when more of the night's rows are in
quarantine than the contract's ``max_quarantine_share``; the loaded rows stay loaded and the night goes on.
"""

from __future__ import annotations

import datetime as dt
import logging

import sqlalchemy as sa
from airflow.sdk import DAG, BaseSensorOperator, Param, dag, task
from airflow.sdk.exceptions import AirflowFailException, AirflowSensorTimeout

from ridni import alerts
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


def night_row_counts(conn, source_id: str, night: dt.date) -> dict[str, int] | None:
    """Rows received, loaded and quarantined of the source's drop of the night, as the headquarters page
    shows them (``marts.source_quality``); None when no file of the night was loaded. A rerun that loads
    nothing new reads the same counts, so its check says what the first run said."""
    row = conn.execute(sa.text(
        "SELECT rows_received, rows_loaded, rows_quarantined FROM marts.source_quality "
        "WHERE source_id = :s AND night = :n AND rows_received IS NOT NULL"), {"s": source_id, "n": night}).first()
    if row is None:
        return None
    return {"received": row.rows_received, "loaded": row.rows_loaded, "quarantined": row.rows_quarantined}


def check_quarantine_share(contract: Contract, night: dt.date, counts: dict | None, *, dag_id: str | None = None,
                           dag_run_id: str | None = None) -> str:
    """Fail when the night's quarantined rows exceed the contract's share of its received rows: record an
    alert (counts only) and raise; else return a line for the log."""
    if not counts or not counts.get("received"):
        return f"{contract.source_id} {night}: no rows received, nothing to check"
    share = counts["quarantined"] / counts["received"]
    line = (f"{contract.source_id} {night}: {counts['quarantined']} of {counts['received']} rows in quarantine "
            f"({share:.1%}; the contract allows {contract.max_quarantine_share:.1%})")
    if share <= contract.max_quarantine_share:
        return line
    with engine().begin() as conn:
        alerts.raise_alert(conn, alerts.Alert(
            kind="quarantine_share_exceeded", severity="error",
            message=f"{share:.1%} of the night's rows are in quarantine, above the contract's "
                    f"max_quarantine_share {contract.max_quarantine_share:.1%}",
            source_id=contract.source_id, extract_date=night, rows_affected=counts["quarantined"],
            quarantine_ref="quarantine.rejected_row", dag_id=dag_id, dag_run_id=dag_run_id))
    raise AirflowFailException(line)


def _doc(contract: Contract) -> str:
    return f"""
### Ingest `{contract.source_id}`: {contract.title}

**Reads** the night's drop `<landing>/{contract.source_id}/<YYYY-MM-DD>/` ({contract.format},
{contract.cadence}; contract `include/ridni/contracts/{contract.source_id}.yaml`, documented in
`docs/sources.md`).

**Writes** `raw.drop`, `raw.file` (archive by sha256), `staging.load`, `staging.record`,
`quarantine.*`, `core.source_record` (+ versions), `audit.validation`, `audit.alert`; emits the asset
`ridni.source.{contract.source_id}` with the night it loaded and its drop's rows
(`extra: {{"night": "YYYY-MM-DD", "received": n, "loaded": n, "quarantined": n}}`).

**Quarantine check**: `check_quarantine` fails when more than {contract.max_quarantine_share:.1%} of the
night's received rows are in quarantine (contract key `max_quarantine_share`); the loaded rows stay loaded.

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
            with engine().connect() as conn:
                rows = night_row_counts(conn, source_id, night)
            carry_night(context, asset, night)
            event = context["outlet_events"][asset]
            event.extra = {**event.extra, **(rows or {"received": 0, "loaded": 0, "quarantined": 0})}
            return {"status": result.status, **result.counts, "night_rows": rows}

        @task
        def build_data_docs(loaded: dict, **context) -> str:
            return steps.data_docs(engine(), source_id, night_of(context))

        @task
        def check_quarantine(loaded: dict, **context) -> str:
            line = check_quarantine_share(contract, night_of(context), loaded.get("night_rows"),
                                          dag_id=context["dag"].dag_id, dag_run_id=context["run_id"])
            log.info("%s", line)
            return line

        loaded = receive_verify_load()
        gate >> loaded
        build_data_docs(loaded)
        check_quarantine(loaded)

    return ingest()


def ingest_dag(source_id: str) -> DAG:
    """The ingest DAG of ``source_id``, from its contract alone.

    Each source's DAG file calls this, so a contract that does not load (:class:`ridni.contracts.ContractError`,
    naming the file and the JSON path) fails that file's import only: Airflow lists it as that file's import
    error and parses the other sources' DAG files as usual.
    """
    return build_ingest_dag(load(source_id))
