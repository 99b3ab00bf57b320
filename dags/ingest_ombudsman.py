"""Airflow DAG file: the ingest DAG of `ombudsman`, built from its contract (include/ridni/contracts/ombudsman.yaml).

One DAG file per source: a broken contract is this file's import error alone, and the other sources' DAGs
still load. The DAG reads the source's nightly drop and emits the asset ``ridni.source.ombudsman``.
"""

from ridni.orchestration.ingest_dag import ingest_dag

ingest_ombudsman = ingest_dag("ombudsman")
