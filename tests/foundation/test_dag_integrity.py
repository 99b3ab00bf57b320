"""Every DAG file imports cleanly, is documented and retried, and touches no database or network when parsed."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import psycopg2
import pytest
import yaml
from airflow.dag_processing.dagbag import DagBag

import ridni.contracts
from ridni.contracts import all_contracts

DAGS = Path(__file__).resolve().parents[2] / "dags"


@pytest.fixture(scope="module")
def dagbag():
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
    expected = {f"ingest_{c.source_id}" for c in all_contracts()}
    assert expected <= set(dagbag.dag_ids)
    assert {d for d in dagbag.dag_ids if d.startswith("ingest_")} == expected


def test_one_dag_file_per_source_contract():
    """Every contract has its DAG file (and no DAG file a missing contract): add both to add a source."""
    assert {p.stem for p in DAGS.glob("ingest_*.py")} == {f"ingest_{c.source_id}" for c in all_contracts()}


def test_a_broken_contract_fails_its_own_dag_file_only(tmp_path, monkeypatch):
    """A copy of dags/ and of the contracts with one contract broken: Airflow reports that source's DAG file as
    an import error naming the contract and the JSON path, and loads every other DAG."""
    dags = shutil.copytree(DAGS, tmp_path / "dags", ignore=shutil.ignore_patterns("__pycache__"))
    contracts = shutil.copytree(ridni.contracts.CONTRACTS_DIR, tmp_path / "contracts",
                                ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    broken = contracts / "ombudsman.yaml"
    doc = yaml.safe_load(broken.read_text(encoding="utf-8"))
    doc["columns"][5]["type"] = "text"  # not a type of the schema
    broken.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    healthy = DagBag(dag_folder=str(DAGS), safe_mode=False).dag_ids

    monkeypatch.setattr(ridni.contracts, "CONTRACTS_DIR", contracts)
    ridni.contracts.load.cache_clear()
    try:
        bag = DagBag(dag_folder=str(dags), safe_mode=False)
    finally:
        monkeypatch.undo()
        ridni.contracts.load.cache_clear()

    assert list(bag.import_errors) == [str(dags / "ingest_ombudsman.py")]
    error = bag.import_errors[str(dags / "ingest_ombudsman.py")]
    assert "ContractError: ombudsman.yaml: $.columns[5].type: 'text' is not one of" in error, error
    assert set(bag.dag_ids) == set(healthy) - {"ingest_ombudsman"}


def test_every_dag_has_owner_tags_doc_and_retries(dagbag):
    for dag_id in dagbag.dag_ids:
        dag = dagbag.get_dag(dag_id)
        assert dag.tags, dag_id
        assert dag.doc_md and len(dag.doc_md) > 100, dag_id
        for t in dag.tasks:
            assert t.owner and t.owner != "airflow", (dag_id, t.task_id)
        assert any(t.retries >= 1 for t in dag.tasks), dag_id
