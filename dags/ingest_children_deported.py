"""Airflow DAG file: the ingest DAG of `children_deported`, built from its contract (include/ridni/contracts/children_deported.yaml).

One DAG file per source: a broken contract is this file's import error alone, and the other sources' DAGs
still load. The DAG reads the source's nightly drop and emits the asset ``ridni.source.children_deported``.
"""

from ridni.orchestration.ingest_dag import ingest_dag

ingest_children_deported = ingest_dag("children_deported")
