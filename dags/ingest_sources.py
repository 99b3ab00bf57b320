"""Airflow DAG file. One ingest DAG per source of docs/sources.md, generated from the contracts in include/ridni/contracts/.

Each reads its source's nightly drop and emits the asset ``ridni.source.<source_id>`` with the night it loaded.
"""

from ridni.contracts import all_contracts
from ridni.orchestration.ingest_dag import build_ingest_dag

for _contract in all_contracts():
    globals()[f"ingest_{_contract.source_id}"] = build_ingest_dag(_contract)
