"""No personal data where analysts, auditors and operators look.

One night of a generated population (about 300 persons) goes through the real DAGs (``run_nightly_dags``,
``dag.test()`` per DAG) in a child process whose whole output is kept, at DEBUG level; five of the eight
sources are delivered broken (rows of garbage, the wrong encoding, a truncated file, a renamed column, a
file altered after its manifest), so failures, exceptions and alerts are part of what is scanned. The
needles are read from the landing files themselves: every (surname, first name) pair in both orders and
both scripts, every full birth date in ISO and DD.MM.YYYY form, every RNOKPP and applicant phone number.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import stat
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import sqlalchemy as sa
from secutil import (
    START,
    Needles,
    airflow_texts,
    file_texts,
    needles_from_landing,
    point_settings,
    scan_files,
    scan_text,
    table_texts,
)

from ridni import db
from ridni_dev.synth import generate

pytestmark = pytest.mark.dag

PERSONS = 300
SEED = 11
FAULTS = [
    "garbage_rows:npu_appeals",
    "wrong_encoding:ombudsman",
    "truncated_file:icrc_confirmations",
    "renamed_column:sbu_jc",
    "sha256_mismatch:children_deported",
]
REFUSED = {"ingest_ombudsman", "ingest_icrc_confirmations", "ingest_sbu_jc", "ingest_children_deported"}
RUNNER = """
import datetime as dt, json, sys
from ridni_dev.demo import run_nightly_dags
states = run_nightly_dags(sys.argv[1], dt.date.fromisoformat(sys.argv[2]))
print("RIDNI-STATES " + json.dumps(states), flush=True)
"""
# What the run may write under its data folder that holds personal data by design (inputs, archive, truth).
RESTRICTED = {"landing", "archive", "truth", "clean", "pseudonym.key", "dag_run.log"}


@dataclass
class DagNight:
    root: Path
    url: str
    engine: sa.Engine
    night: dt.date
    output: str
    states: dict
    needles: Needles
    started: float
    airflow_home: Path

    @property
    def exports(self) -> Path:
        return self.root / "exports" / self.night.isoformat()


@pytest.fixture(scope="module")
def dag_night(tmp_path_factory, make_database, airflow_db) -> DagNight:
    root = tmp_path_factory.mktemp("pii")
    url = make_database()
    db.upgrade(url)
    # the same population, once clean (to read the needles from) and once with the faults (to run)
    generate(root / "clean", seed=SEED, persons=PERSONS, nights=1, start_date=START)
    generate(root, seed=SEED, persons=PERSONS, nights=1, start_date=START, faults=FAULTS)
    env = dict(os.environ)
    env.pop("RIDNI_WAREHOUSE_URL", None)
    point_settings(env.__setitem__, root)
    env.update(RIDNI_TASK_RETRIES="0", AIRFLOW__LOGGING__LOGGING_LEVEL="DEBUG", PYTHONUNBUFFERED="1")
    started = time.time()
    log_path = root / "dag_run.log"
    with open(log_path, "wb") as out:
        subprocess.run(
            [sys.executable, "-c", RUNNER, url, START.isoformat()],
            env=env,
            cwd=root,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=600,
            check=False,
        )
    output = log_path.read_text(encoding="utf-8", errors="replace")
    found = re.search(r"^RIDNI-STATES (.*)$", output, re.M)
    assert found, output[-3000:]
    engine = db.make_engine(url)
    yield DagNight(
        root,
        url,
        engine,
        START,
        output,
        json.loads(found.group(1)),
        needles_from_landing(root / "clean" / "landing"),
        started,
        airflow_db,
    )
    engine.dispose()


def _scalar(engine, sql, **params):
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).scalar()


def test_the_night_ran_as_planned_and_the_scanner_sees_personal_data_where_it_is(dag_night):
    """Controls: the run is the one intended, and the scanner finds each kind of needle where it must be."""
    n = dag_night
    assert {d for d, s in n.states.items() if s != "success"} == REFUSED, n.states
    assert (
        len(n.needles.name_pairs) > 2 * PERSONS
        and n.needles.birth_dates
        and n.needles.rnokpp
        and n.needles.phones
    ), "needles"
    # every kind of needle is found in the landing files (CSV, cp1251 CSV, JSON, JSONL, XLSX)
    found, files = scan_files(n.needles, n.root / "clean" / "landing")
    kinds = {f.kind for f in found}
    assert kinds == {"name", "birth date", "RNOKPP", "phone"}, kinds
    sbu = [f for f in found if "registry.xlsx" in f.where and f.kind == "name"]
    icrc = [f for f in found if "confirmations.json" in f.where and f.kind == "name"]
    assert sbu and icrc, "names in the XLSX (one-field ПІБ) and in Latin script (ICRC) are recognised"
    # and in the warehouse's restricted layer, where the quarantined garbage rows keep the record
    restricted = [
        f for where, text in table_texts(n.engine, ["quarantine"]) for f in scan_text(n.needles, where, text)
    ]
    assert any(f.kind == "name" for f in restricted)
    # the log holds the DAG runs, the alerts and the failures
    assert n.output.count("[DAG TEST]") > 20
    assert "drop_rejected" in n.output and "rows_quarantined" in n.output


def test_no_personal_data_in_logs_alerts_data_docs_exports_or_exceptions(dag_night):
    n = dag_night
    haystacks: list[tuple[str, str]] = [("DAG run output (stdout+stderr, DEBUG)", n.output)]
    logs = Path(n.airflow_home) / "logs"
    task_logs = (
        [p for p in logs.rglob("*") if p.is_file() and p.stat().st_mtime >= n.started - 1]
        if logs.exists()
        else []
    )
    haystacks += [(str(p), p.read_text(encoding="utf-8", errors="replace")) for p in task_logs]
    haystacks += list(airflow_texts(n.airflow_home))
    # what the auditor and the analysts read, and every reason and message the pipeline wrote
    haystacks += list(table_texts(n.engine, ["audit", "marts"]))
    with n.engine.connect() as conn:
        reasons = (
            conn.execute(
                sa.text(
                    "SELECT reason FROM quarantine.rejected_drop UNION ALL SELECT reason FROM raw.drop "
                    "UNION ALL SELECT reason FROM staging.load"
                )
            )
            .scalars()
            .all()
        )
        messages = conn.execute(sa.text("SELECT message FROM audit.alert")).scalars().all()
    assert len([r for r in reasons if r]) >= 4 and len(messages) >= 5, (reasons, messages)
    haystacks.append(("rejection reasons", "\n".join(r or "" for r in reasons)))

    findings = [f for where, text in haystacks for f in scan_text(n.needles, where, text)]
    # Data Docs, exports, and anything else the run wrote outside the landing zone, the archive and the truth
    scanned = 0
    for path in sorted(n.root.iterdir()):
        if path.name in RESTRICTED:
            continue
        if path.is_dir():
            more, count = scan_files(n.needles, path)
        else:
            more, count = (
                [f for where, text in file_texts(path) for f in scan_text(n.needles, where, text)],
                1,
            )
        findings += more
        scanned += count
    exported = {p.name for p in n.exports.iterdir()}
    assert {
        "counts.csv",
        "counts.xlsx",
        "counts.parquet",
        "change_log.csv",
        "change_log.xlsx",
        "change_log.parquet",
        "headline.csv",
        "reconciliation.csv",
        "summary.html",
        "manifest.json",
    } <= exported
    assert list((n.root / "data_docs").rglob("*.html")), "Data Docs were built"
    assert scanned > len(exported)
    assert not findings, f"{len(findings)} personal value(s) found:\n" + "\n".join(map(str, findings[:30]))


def _count_cells(values) -> list:
    """Published person counts that are neither suppressed ('<5'), zero, nor at least 5."""
    bad = []
    for v in values:
        if v is None or (isinstance(v, float) and pd.isna(v)) or str(v).strip() in ("", "<5"):
            continue
        number = float(v)
        if 0 < number < 5:
            bad.append(v)
    return bad


def _xlsx_column(path: Path, column: str) -> list:
    wb = openpyxl.load_workbook(path, read_only=True)
    rows = list(wb.worksheets[0].iter_rows(values_only=True))
    wb.close()
    i = list(rows[0]).index(column)
    return [r[i] for r in rows[1:]]


def test_no_published_person_count_below_five(dag_night):
    """Counts of 1 to 4 persons are shown as <5 in every breakdown published (DOMAIN.md)."""
    e = dag_night.exports
    counts = pd.read_csv(e / "counts.csv", dtype=str, keep_default_na=False)
    assert (counts["count"] == "<5").any() and len(counts) > 10, "the night has small cells to hide"
    problems = {
        "counts.csv": _count_cells(counts["count"]),
        "counts.xlsx": _count_cells(_xlsx_column(e / "counts.xlsx", "count")),
        "counts.parquet": _count_cells(pd.read_parquet(e / "counts.parquet")["count"]),
        "headline.csv": _count_cells(pd.read_csv(e / "headline.csv")["count"]),
    }
    recon = pd.read_csv(e / "reconciliation.csv", dtype=str, keep_default_na=False)
    for col in ("source_count", "warehouse_count", "only_in_source", "disagreeing"):
        problems[f"reconciliation.csv:{col}"] = _count_cells(recon[col])
    page = (e / "summary.html").read_text(encoding="utf-8")
    moves = page.split("<h2>Moves out of missing tonight</h2>")[1].split("<h2>")[0]
    header = re.findall(r"<th>(.*?)</th>", moves)
    cells = [re.findall(r"<td>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", moves)]
    assert header == ["to_category", "persons"], header
    problems["summary.html:moves"] = _count_cells([row[1] for row in cells if row])
    problems = {k: v for k, v in problems.items() if v}
    assert not problems, f"person counts from 1 to 4 published: {problems}"


def test_exported_files_are_for_owner_and_group_only(dag_night):
    folder = dag_night.exports
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()}
    assert modes and set(modes.values()) == {0o640}, {k: oct(v) for k, v in modes.items()}
    assert stat.S_IMODE(folder.stat().st_mode) == 0o750
    for name in ("counts.xlsx", "change_log.xlsx"):
        with zipfile.ZipFile(folder / name) as zf:
            assert zf.testzip() is None


def test_archived_raw_files_are_not_world_readable(dag_night):
    """The archive keeps every received file unchanged: personal data, for the pipeline's account only."""
    archived = [p for p in (dag_night.root / "archive").rglob("*") if p.is_file()]
    assert archived
    open_to_all = sorted(p.name[:12] for p in archived if p.stat().st_mode & 0o007)
    assert not open_to_all, (
        f"{len(open_to_all)} of {len(archived)} archived files are readable by any local user"
    )
