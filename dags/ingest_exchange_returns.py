"""Airflow DAG file: the ingest DAG of `exchange_returns`, built from its contract (include/ridni/contracts/exchange_returns.yaml).

One DAG file per source: a broken contract is this file's import error alone, and the other sources' DAGs
still load. The DAG reads the source's nightly drop and emits the asset ``ridni.source.exchange_returns``.
"""

from ridni.orchestration.ingest_dag import ingest_dag

ingest_exchange_returns = ingest_dag("exchange_returns")
