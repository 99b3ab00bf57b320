"""A re-delivered snapshot: only the lines that differ from the source's previous snapshot are parsed and
validated, and the warehouse ends exactly as if every line had been (ridni.ingest.snapshot_lines)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from test_load import contents as core_contents

import ridni.ingest.snapshot_lines as snapshot_lines
from ridni import db
from ridni.ingest.run import ingest_source


def contents(engine) -> dict:
    """What test_load compares (staging, core, versions), and the loads, quarantine and withdrawals."""
    out = core_contents(engine)
    with engine.connect() as conn:
        out["loads"] = conn.execute(sa.text(
            "SELECT source_id, extract_date, status, rows_received, rows_loaded, rows_quarantined "
            "FROM staging.load ORDER BY load_id")).all()
        out["quarantine"] = conn.execute(sa.text(
            "SELECT source_id, file_name, line_no, reasons FROM quarantine.rejected_row "
            "ORDER BY source_id, file_name, line_no")).all()
        out["withdrawn"] = conn.execute(sa.text(
            "SELECT count(*) FROM core.source_record WHERE withdrawn_on IS NOT NULL")).scalar()
    return out


def evaluated(engine, source_id: str, night: dt.date) -> tuple[int, int]:
    """How many rows the night's validation of the source was given, and how many the file has."""
    with engine.connect() as conn:
        row = conn.execute(sa.text(
            "SELECT rows_evaluated, summary FROM audit.validation WHERE source_id = :s AND extract_date = :n"),
            {"s": source_id, "n": night}).one()
    return row.rows_evaluated, row.summary["rows"]


def test_three_nights_end_as_if_every_line_were_parsed(night_env, make_database, monkeypatch):
    """Every source over three generated nights (records change, leave and come back; bad rows on the
    second night), loaded with the line comparison and without it: the same staging, core, versions,
    loads and quarantine, while the snapshots' second and third nights parse a small part of their lines."""
    synth = night_env(persons=400, nights=3, faults=["garbage_rows:npu_appeals:2026-11-02"])
    results, engines = [], []
    for compare in (True, False):
        if not compare:
            monkeypatch.setattr(snapshot_lines, "load_index", lambda *a, **k: None)
        url = make_database()
        db.upgrade(url)
        engine = db.make_engine(url)
        for night in synth.nights:
            for source_id in sorted({d.source_id for d in synth.drops}):
                ingest_source(engine, source_id, night)
        results.append(contents(engine))
        engines.append(engine)
    assert results[0] == results[1]
    assert results[0]["quarantine"] and results[0]["withdrawn"]
    for source_id in ("npu_appeals", "coordhq_cases"):  # CSV and JSON Lines
        given, whole = evaluated(engines[0], source_id, synth.nights[2])
        assert whole > 100 and given < whole / 4, (source_id, given, whole)
        assert evaluated(engines[1], source_id, synth.nights[2]) == (whole, whole)
    for engine in engines:
        engine.dispose()


# ---------------------------------------------------------------------------------------- one source by hand
SOURCE, DELIMITER = "npu_appeals", b";"  # CSV, UTF-8 with a byte-order mark


@pytest.fixture
def appeals(night_env, fresh_warehouse):
    """The police appeals' drops of two nights, the second editable line by line before it is ingested."""
    synth = night_env(persons=200, nights=2)
    _, engine = fresh_warehouse
    first, second = synth.nights
    ingest_source(engine, SOURCE, first)
    return engine, first, second


def drop_dir(night: dt.date) -> Path:
    import os

    return Path(os.environ["RIDNI_LANDING"]) / SOURCE / night.isoformat()


def edit_night(night: dt.date, edit) -> None:
    """Rewrite the night's data file with ``edit(lines) -> lines`` and keep its manifest true."""
    folder = drop_dir(night)
    manifest_path = folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    entry = manifest["files"][0]
    path = folder / entry["name"]
    data = path.read_bytes()
    newline = b"\r\n" if b"\r\n" in data else b"\n"
    lines = data.split(newline)
    tail = lines.pop() if lines[-1] == b"" else None
    lines = edit(lines)
    data = newline.join(lines + ([tail] if tail is not None else []))
    path.write_bytes(data)
    entry["sha256"] = hashlib.sha256(data).hexdigest()
    entry["rows"] = len(lines) - 1
    manifest_path.write_text(json.dumps(manifest))


def quarantined(engine, night: dt.date) -> list[tuple[int, list[str]]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "SELECT q.line_no, q.reasons FROM quarantine.rejected_row q JOIN staging.load l USING (load_id) "
            "WHERE l.source_id = :s AND l.extract_date = :n ORDER BY q.line_no"), {"s": SOURCE, "n": night})]


def test_a_changed_line_that_repeats_an_unchanged_lines_key_quarantines_both(appeals):
    engine, _, second = appeals
    edit_night(second, lambda lines: lines + [lines[5].replace(DELIMITER, DELIMITER + b" ", 1)])
    report = ingest_source(engine, SOURCE, second)
    lines = len((drop_dir(second) / json.loads((drop_dir(second) / "manifest.json").read_text())["files"][0]["name"])
                .read_bytes().splitlines())
    assert report.status == "loaded"
    got = quarantined(engine, second)
    assert [line for line, _ in got] == [6, lines], got
    assert all(any(r.startswith("unique(") for r in reasons) for _, reasons in got)


def test_the_file_level_checks_count_every_line(appeals):
    """The manifest's count is checked against the whole file, unchanged lines included."""
    engine, _, second = appeals
    folder = drop_dir(second)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"][0]["rows"] += 1
    (folder / "manifest.json").write_text(json.dumps(manifest))
    report = ingest_source(engine, SOURCE, second)
    assert report.status == "rejected"
    assert "differs from the manifest" in report.reason


def test_a_bad_line_is_quarantined_every_night_it_comes_and_named_by_its_line(night_env, fresh_warehouse):
    synth = night_env(persons=200, nights=3)
    _, engine = fresh_warehouse
    first, second, third = synth.nights

    def spoil(lines):  # the 8th data line loses its required surname, on every night
        fields = lines[8].split(DELIMITER)
        fields[2] = b""
        return lines[:8] + [DELIMITER.join(fields)] + lines[9:]

    for night in (first, second, third):
        edit_night(night, spoil)
    for night in (first, second, third):
        assert ingest_source(engine, SOURCE, night).status == "loaded"
        assert [line for line, _ in quarantined(engine, night)] == [9], night


def test_a_changed_header_reads_every_line(appeals):
    engine, _, second = appeals
    edit_night(second, lambda lines: [lines[0].replace(DELIMITER, b" " + DELIMITER, 1)] + lines[1:])
    assert ingest_source(engine, SOURCE, second).status == "loaded"
    given, whole = evaluated(engine, SOURCE, second)
    assert given == whole > 100


def test_lines_with_quoted_line_breaks_are_not_cut():
    from ridni.contracts import load as contract

    c = contract("ombudsman")
    assert snapshot_lines.cut(c, b'a,b\n"x\ny",2\n') is None
    lines = snapshot_lines.cut(c, b'a,b\n"x,y",2\n3,4')
    assert lines.lines == [b'"x,y",2', b"3,4"] and not lines.ends_with_newline
    body, line_of = lines.changed_body([False, True])
    assert body == b"a,b\n3,4" and line_of.tolist() == [1, 3]
    assert snapshot_lines.cut(contract("sbu_jc"), b"PK") is None


def test_the_index_is_one_row_per_source_and_follows_the_latest_snapshot(appeals):
    engine, first, second = appeals
    ingest_source(engine, SOURCE, second)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT source_id, line_count, sha256 FROM staging.snapshot_lines")).all()
        latest = conn.execute(sa.text("SELECT sha256 FROM staging.load WHERE source_id = :s ORDER BY load_id DESC "
                                      "LIMIT 1"), {"s": SOURCE}).scalar()
        loaded = conn.execute(sa.text("SELECT rows_loaded FROM staging.load WHERE sha256 = :h"), {"h": latest}).scalar()
    assert rows == [(SOURCE, loaded, latest)]
