"""Airflow DAG file: the ingest DAG of `npu_appeals`, built from its contract (include/ridni/contracts/npu_appeals.yaml).

One DAG file per source: a broken contract is this file's import error alone, and the other sources' DAGs
still load. The DAG reads the source's nightly drop and emits the asset ``ridni.source.npu_appeals``.
"""

from ridni.orchestration.ingest_dag import ingest_dag

ingest_npu_appeals = ingest_dag("npu_appeals")
