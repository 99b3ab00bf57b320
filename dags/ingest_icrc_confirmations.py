"""Airflow DAG file: the ingest DAG of `icrc_confirmations`, built from its contract (include/ridni/contracts/icrc_confirmations.yaml).

One DAG file per source: a broken contract is this file's import error alone, and the other sources' DAGs
still load. The DAG reads the source's nightly drop and emits the asset ``ridni.source.icrc_confirmations``.
"""

from ridni.orchestration.ingest_dag import ingest_dag

ingest_icrc_confirmations = ingest_dag("icrc_confirmations")
