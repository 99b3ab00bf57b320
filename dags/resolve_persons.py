"""Airflow DAG file. Person resolution: scheduled on the sources' assets, emits ``ridni.persons``."""

from ridni.contracts import all_contracts
from ridni.orchestration.downstream_dags import build_resolve_dag

resolve_persons = build_resolve_dag(
    [c.source_id for c in all_contracts()],
    [c.source_id for c in all_contracts() if c.cadence == "event"],
)
