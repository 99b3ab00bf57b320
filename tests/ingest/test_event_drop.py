"""A drop of many event files is validated and loaded together, and each file still answers for itself:
its own load and counts, its quarantined rows named by file and line, a bad file refusing the drop by name.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from ridni.ingest.run import build_data_docs_for_night, ingest_source

sys.path.insert(0, str(Path(__file__).resolve().parent))
from backlog import SOURCE, exchange_rows, write_backlog  # noqa: E402

NIGHT = dt.date(2026, 11, 1)


@pytest.fixture
def env(tmp_path, monkeypatch, fresh_warehouse):
    for name in ("landing", "archive", "exports", "data_docs"):
        monkeypatch.setenv(f"RIDNI_{name.upper()}", str(tmp_path / name))
    _, engine = fresh_warehouse
    return tmp_path, engine


def _edit(changes: dict[str, dict[int, dict[int, str]]]):
    """An ``edit`` for write_backlog: in file ``name``, data row ``i`` (line i + 2), column j := value."""
    def edit(name, rows):
        for i, cells in changes.get(name, {}).items():
            for j, value in cells.items():
                rows[i][j] = value
        return rows
    return edit


def _one(engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).all()


def test_a_backlog_is_loaded_in_one_validation_each_file_with_its_counts(env):
    root, engine = env
    files, rows = 30, 25
    names = [f"exchange_EX-{NIGHT - dt.timedelta(days=1 + n):%Y%m%d}.csv" for n in range(files)]
    # two bad rows in one file (an unknown category; a missing exchange date), one in another
    changes = {names[3]: {4: {6: "alien"}, 9: {1: ""}}, names[17]: {0: {6: "alien"}}}
    write_backlog(root / "landing", NIGHT, files, rows, edit=_edit(changes))

    report = ingest_source(engine, SOURCE, NIGHT)
    assert report.status == "loaded"
    assert [f.status for f in report.files] == ["loaded"] * files
    assert (report.rows_loaded, report.rows_quarantined) == (files * rows - 3, 3)

    loads = _one(engine, "SELECT file_name, rows_received, rows_loaded, rows_quarantined FROM staging.load "
                         "ORDER BY file_name")
    assert len(loads) == files
    counts = {name: (received, loaded, quarantined) for name, received, loaded, quarantined in loads}
    assert counts[names[3]] == (rows, rows - 2, 2) and counts[names[17]] == (rows, rows - 1, 1)
    assert all(c == (rows, rows, 0) for n, c in counts.items() if n not in (names[3], names[17]))

    quarantined = _one(engine, "SELECT q.file_name, q.line_no, q.reasons, l.file_name FROM quarantine.rejected_row q "
                               "JOIN staging.load l USING (load_id) ORDER BY q.file_name, q.line_no")
    assert [(f, line, reasons) for f, line, reasons, _ in quarantined] == [
        (names[17], 2, ["allowed(person_type)"]),
        (names[3], 6, ["allowed(person_type)"]),
        (names[3], 11, ["required(status_date)"]),
    ]
    assert all(f == load_file for f, _, _, load_file in quarantined)  # each row under its own file's load

    records = _one(engine, "SELECT count(*), count(DISTINCT last_load_id) FROM core.source_record "
                           "WHERE source_id = :s", s=SOURCE)
    assert records == [(files * rows - 3, files)]
    versions = _one(engine, "SELECT change, count(*) FROM core.source_record_version GROUP BY change")
    assert versions == [("new", files * rows - 3)]

    validations = _one(engine, "SELECT file_name, success, rows_evaluated, rows_failed, summary "
                               "FROM audit.validation")
    assert len(validations) == 1  # one GX run for the drop
    file_name, success, evaluated, failed, summary = validations[0]
    assert (file_name, success, evaluated, failed) == (None, False, files * rows, 3)
    per_file = {f["file_name"]: (f["rows"], f["rows_failed"]) for f in summary["files"]}
    assert per_file[names[3]] == (rows, 2) and per_file[names[17]] == (rows, 1) and len(per_file) == files

    # the Data Docs page of the drop lists the files with failed rows
    with engine.begin() as conn:
        build_data_docs_for_night(conn, SOURCE, NIGHT, str(root / "data_docs"))
    page = next((root / "data_docs" / "pages" / "en" / NIGHT.isoformat() / SOURCE).glob("*.html")).read_text("utf-8")
    assert f"<code>{names[3]}</code>" in page and f"<code>{names[17]}</code>" in page
    assert f"<code>{names[0]}</code>" not in page

    # the same night again changes nothing
    with engine.connect() as conn:
        before = conn.execute(sa.text("SELECT count(*) FROM staging.load")).scalar()
    assert ingest_source(engine, SOURCE, NIGHT).status == "skipped"
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM staging.load")).scalar() == before


def test_files_of_a_drop_merge_in_the_drops_order(env):
    root, engine = env
    # the drop's files in name order: the exchange of the 30th, then a file re-sending it with a corrected
    # birth date on its first line
    older, newer = (NIGHT - dt.timedelta(days=2), 1), (NIGHT - dt.timedelta(days=1), 0)
    exchange_id = f"EX-{older[0]:%Y%m%d}"
    resent = exchange_rows(exchange_id, older[0], 21, older[1])
    resent[0][5] = "1971-02-03"

    def edit(name, rows):
        return [list(r) for r in resent] if name == f"exchange_EX-{newer[0]:%Y%m%d}.csv" else rows

    write_backlog(root / "landing", NIGHT, 2, 21, edit=edit)
    report = ingest_source(engine, SOURCE, NIGHT)
    assert report.status == "loaded" and report.rows_loaded == 42
    key = f"{exchange_id}/2"
    changes = _one(engine, "SELECT v.record_key, v.change, l.file_name FROM core.source_record_version v "
                           "JOIN staging.load l USING (load_id) WHERE v.change <> 'new' OR v.record_key = :k", k=key)
    assert sorted(changes) == [(key, "changed", f"exchange_EX-{newer[0]:%Y%m%d}.csv"),
                               (key, "new", f"exchange_{exchange_id}.csv")]
    assert _one(engine, "SELECT birth_date FROM core.source_record WHERE record_key = :k", k=key) == [("1971-02-03",)]
    # the other 20 lines of the re-sent file are the records as they stand: loaded, no new version
    assert _one(engine, "SELECT count(*) FROM core.source_record WHERE source_id = :s", s=SOURCE) == [(21,)]


@pytest.mark.parametrize("fault", ["share", "manifest"])
def test_a_bad_file_refuses_the_drop_by_name_and_loads_nothing(env, fault):
    root, engine = env
    names = [f"exchange_EX-{NIGHT - dt.timedelta(days=1 + n):%Y%m%d}.csv" for n in range(12)]
    bad = names[7]
    if fault == "share":  # 3 of 25 rows bad: 12 % of the file, over the 10 % threshold (0.5 % of the drop)
        edit = _edit({bad: {i: {6: "alien"} for i in (1, 5, 8)}})
    else:
        def edit(name, rows):
            return rows
    write_backlog(root / "landing", NIGHT, len(names), 25, edit=edit)
    if fault == "manifest":
        folder = root / "landing" / SOURCE / NIGHT.isoformat()
        (folder / bad).write_bytes((folder / bad).read_bytes() + (folder / bad).read_bytes().split(b"\n")[1] + b"\n")
        import hashlib
        import json
        manifest = json.loads((folder / "manifest.json").read_text())
        for f in manifest["files"]:
            if f["name"] == bad:
                f["sha256"] = hashlib.sha256((folder / bad).read_bytes()).hexdigest()
        (folder / "manifest.json").write_text(json.dumps(manifest))

    report = ingest_source(engine, SOURCE, NIGHT)
    assert report.status == "rejected"
    expected = ("3 of 25 rows (12.0%) failed validation, over the 10% threshold" if fault == "share"
                else "row count 26 differs from the manifest's 25")
    assert report.reason == f"{bad}: {expected}"
    assert _one(engine, "SELECT file_name, reason FROM quarantine.rejected_drop") == [(bad, report.reason)]
    assert _one(engine, "SELECT count(*) FROM core.source_record") == [(0,)]
    assert _one(engine, "SELECT count(*) FROM staging.load") == [(0,)]
