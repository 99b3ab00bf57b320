"""Airflow DAG file: the ingest DAG of `coordhq_cases`, built from its contract (include/ridni/contracts/coordhq_cases.yaml).

One DAG file per source: a broken contract is this file's import error alone, and the other sources' DAGs
still load. The DAG reads the source's nightly drop and emits the asset ``ridni.source.coordhq_cases``.
"""

from ridni.orchestration.ingest_dag import ingest_dag

ingest_coordhq_cases = ingest_dag("coordhq_cases")
