"""Airflow DAG file: the ingest DAG of `sbu_jc`, built from its contract (include/ridni/contracts/sbu_jc.yaml).

One DAG file per source: a broken contract is this file's import error alone, and the other sources' DAGs
still load. The DAG reads the source's nightly drop and emits the asset ``ridni.source.sbu_jc``.
"""

from ridni.orchestration.ingest_dag import ingest_dag

ingest_sbu_jc = ingest_dag("sbu_jc")
