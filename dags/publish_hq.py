"""Airflow DAG file. Categories, marts and exports for headquarters: scheduled on ``ridni.persons``."""

from ridni.orchestration.downstream_dags import build_publish_dag

publish_hq = build_publish_dag()
