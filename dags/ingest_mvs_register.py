"""Airflow DAG file: the ingest DAG of `mvs_register`, built from its contract (include/ridni/contracts/mvs_register.yaml).

One DAG file per source: a broken contract is this file's import error alone, and the other sources' DAGs
still load. The DAG reads the source's nightly drop and emits the asset ``ridni.source.mvs_register``.
"""

from ridni.orchestration.ingest_dag import ingest_dag

ingest_mvs_register = ingest_dag("mvs_register")
