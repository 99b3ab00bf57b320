"""Each fault flag produces exactly the fault it names, on the drop faults.json says."""

from __future__ import annotations

import hashlib
import json

import pytest
from synth_files import ALL_FAULTS, START, drop_dir, manifest, read_csv

from ridni import contracts
from ridni.ingest import parse
from ridni_dev.synth import generate
from ridni_dev.synth.faults import DEFAULT_SOURCE, FAULTS


def _fault(result, name):
    (f,) = [f for f in result.faults if f.fault == name]
    assert f.source_id == DEFAULT_SOURCE[name]
    return f, drop_dir(result, f.source_id, f.night)


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _declared(folder, name):
    return next(e for e in manifest(folder)["files"] if e["name"] == name)


def test_faults_json_names_every_injected_fault(faulty):
    assert sorted(f.fault for f in faulty.faults) == sorted(ALL_FAULTS)
    for night in faulty.nights:
        listed = json.loads((faulty.truth / night.isoformat() / "faults.json").read_text(encoding="utf-8"))
        assert sorted(f["fault"] for f in listed) == sorted(f.fault for f in faulty.faults if f.night == night)
        for f in listed:
            assert f["night"] == night.isoformat() and f["expect"] and f["detail"]


def test_truncated_file(faulty):
    f, folder = _fault(faulty, "truncated_file")
    path = folder / f.file
    assert f.expect == "drop_rejected" and path.stat().st_size < f.extra["bytes_full"]
    entry = _declared(folder, f.file)
    assert entry["sha256"] == _sha(path) and entry["rows"] > 0  # the manifest matches what was sent
    with pytest.raises(json.JSONDecodeError):
        json.loads(path.read_text(encoding="utf-8"))  # cut mid-record, but never mid-character


def test_wrong_encoding(faulty):
    f, folder = _fault(faulty, "wrong_encoding")
    raw = (folder / f.file).read_bytes()
    assert f.extra["sent_as"] == "cp1251"
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert raw.decode("cp1251").startswith("case_no,")
    assert _declared(folder, f.file)["sha256"] == _sha(folder / f.file)


def test_missing_manifest(faulty):
    f, folder = _fault(faulty, "missing_manifest")
    assert f.expect == "incomplete"
    assert not (folder / "manifest.json").exists() and (folder / "cases.jsonl").stat().st_size > 0


def test_sha256_mismatch(faulty):
    f, folder = _fault(faulty, "sha256_mismatch")
    entry = _declared(folder, f.file)
    assert entry["sha256"] == f.extra["declared_sha256"] != _sha(folder / f.file)
    assert len(read_csv(folder / f.file, "utf-8", ",")[1]) == entry["rows"] - 1


def test_register_seq_gap(faulty):
    f, folder = _fault(faulty, "register_seq_gap")
    assert f.night == faulty.nights[1] and f.expect == "drop_held"
    assert manifest(drop_dir(faulty, "mvs_register", START))["seq"] == 1
    m = manifest(folder)
    assert m["seq"] == 3 and f.extra["missing_seq"] == [2]
    assert [e["name"] for e in m["files"]] == ["register_000003.csv"] == [p.name for p in folder.glob("*.csv")]


def test_renamed_column(faulty):
    import openpyxl

    f, folder = _fault(faulty, "renamed_column")
    header = [c.value for c in openpyxl.load_workbook(folder / f.file)["Реєстр"][1]]
    assert "Дата нар." in header and "Дата народження" not in header
    assert _declared(folder, f.file)["sha256"] == _sha(folder / f.file)


def test_garbage_rows(faulty):
    f, folder = _fault(faulty, "garbage_rows")
    assert f.expect == "rows_quarantined" and f.lines
    lines = (folder / f.file).read_bytes().decode("utf-8-sig").split("\r\n")
    for n in f.lines:
        assert lines[n - 1].startswith("ERR-")  # line 1 is the header
    clean = [i + 1 for i, line in enumerate(lines) if line and not line.startswith("ERR-")]
    assert len(clean) - 1 == _declared(folder, f.file)["rows"] - len(f.lines)
    assert len(f.lines) / _declared(folder, f.file)["rows"] < 0.05  # the rest loads


def test_empty_file(faulty):
    f, folder = _fault(faulty, "empty_file")
    assert (folder / f.file).read_bytes() == b""
    assert _declared(folder, f.file) == {"name": f.file, "sha256": hashlib.sha256(b"").hexdigest(), "rows": 0}


def test_ingestion_refuses_the_broken_files(faulty):
    for name in ("truncated_file", "wrong_encoding", "renamed_column", "empty_file"):
        f, folder = _fault(faulty, name)
        with pytest.raises(parse.FileRejected):
            parse.parse_file(contracts.load(f.source_id), folder / f.file, f.file)


def test_a_fault_can_target_another_source_and_night(tmp_path):
    r = generate(tmp_path, seed=2, persons=150, nights=2,
                 faults=["renamed_column:coordhq_cases:2026-11-02", "truncated_file:npu_appeals"])
    by_name = {f.fault: f for f in r.faults}
    assert by_name["renamed_column"].night == r.nights[1]
    first = (drop_dir(r, "coordhq_cases", r.nights[1]) / "cases.jsonl").read_text(encoding="utf-8").splitlines()[0]
    assert '"opened":' in first and '"opened_on"' not in first
    text = (drop_dir(r, "npu_appeals", START) / "appeals.csv").read_bytes().decode("utf-8-sig")
    assert not text.endswith("\r\n")  # cut mid-row
    assert set(FAULTS) == set(DEFAULT_SOURCE)
