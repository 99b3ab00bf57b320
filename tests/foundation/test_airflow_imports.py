"""The package imports Airflow only where ``ridni.orchestration``'s docstring says: the Airflow layer itself,
the web pages, and ``ridni.privacy``'s optional connection."""

from __future__ import annotations

import ast
from pathlib import Path

import ridni

PACKAGE = Path(ridni.__file__).resolve().parent
ALLOWED = ("orchestration", "web", "privacy.py")


def _imports_airflow(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "airflow" for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "airflow":
            return True
    return False


def test_airflow_is_imported_in_the_documented_places_only():
    importing = {p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py") if _imports_airflow(p)}
    assert importing, "the scan finds nothing: it would pass whatever the code does"
    assert {p for p in importing if p.split("/")[0] not in ALLOWED} == set()
    assert "orchestration/ingest_dag.py" in importing and "privacy.py" in importing
