"""Every DAG file imports cleanly, is documented and retried, and touches no database or network when parsed."""

from __future__ import annotations

import socket
from pathlib import Path

import psycopg2
import pytest

DAGS = Path(__file__).resolve().parents[2] / "dags"


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    def refuse(*args, **kwargs):
        raise AssertionError("a DAG file opened a connection at parse time")

    mp = pytest.MonkeyPatch()
    mp.setenv("RIDNI_TASK_RETRIES", "3")  # production's setting
    mp.setattr(socket.socket, "connect", refuse)
    mp.setattr(socket, "create_connection", refuse)
    mp.setattr(psycopg2, "connect", refuse)
    try:
        bag = DagBag(dag_folder=str(DAGS), safe_mode=False)
    finally:
        mp.undo()
    return bag


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert dagbag.dag_ids, "no DAG found"


def test_one_ingest_dag_per_source(dagbag):
    from ridni.contracts import all_contracts

    expected = {f"ingest_{c.source_id}" for c in all_contracts()}
    assert len(expected) == 8
    assert expected <= set(dagbag.dag_ids)


def test_every_dag_has_owner_tags_doc_and_retries(dagbag):
    for dag_id in dagbag.dag_ids:
        dag = dagbag.get_dag(dag_id)
        assert dag.tags, dag_id
        assert dag.doc_md and len(dag.doc_md) > 100, dag_id
        for t in dag.tasks:
            assert t.owner and t.owner != "airflow", (dag_id, t.task_id)
        assert any(t.retries >= 1 for t in dag.tasks), dag_id
