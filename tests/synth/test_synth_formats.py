"""Every file in the exact format docs/sources.md gives, with a manifest that matches it."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re

import openpyxl
import pytest
from synth_files import KEY_OF, START, drop_dir, manifest, noise_of, read_csv, read_records

from ridni import contracts
from ridni.ingest import parse, validate
from ridni.standardise import rnokpp
from ridni_dev.synth import SOURCE_IDS

DMY = re.compile(r"^\d{2}\.\d{2}\.\d{4}$")
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")
NPU_COLUMNS = ["номер_звернення", "дата_реєстрації", "прізвище", "імʼя", "по_батькові", "дата_народження", "стать",
               "рнокпп", "категорія", "дата_зникнення", "область_зникнення", "населений_пункт", "обставини",
               "заявник_спорідненість", "заявник_телефон"]
MVS_COLUMNS = ["register_no", "op", "changed_at", "surname", "given_name", "patronymic", "birth_date", "sex", "rnokpp",
               "person_group", "status_code", "status_date", "region", "appeal_refs"]


def _drops(result):
    return [d for d in result.drops]


def test_every_manifest_matches_its_files(run):
    for d in _drops(run):
        m = manifest(d.folder)
        assert m["source"] == d.source_id and m["extract_date"] == d.night.isoformat()
        assert ("seq" in m) == (d.source_id == "mvs_register")
        names = sorted(p.name for p in d.folder.iterdir() if p.name != "manifest.json")
        assert [f["name"] for f in m["files"]] == names
        records = read_records(d.folder, d.source_id)
        assert sum(f["rows"] for f in m["files"]) == len(records) == sum(d.files.values())
        for f in m["files"]:
            assert f["sha256"] == hashlib.sha256((d.folder / f["name"]).read_bytes()).hexdigest()
        keys = [KEY_OF[d.source_id](r) for r in records]
        if d.source_id == "mvs_register":
            keys = [(r["register_no"], r["changed_at"]) for r in records]
        assert len(keys) == len(set(keys)), d.source_id


def test_npu_appeals_utf8_bom_semicolon_dmy(run):
    for night in run.nights:
        path = drop_dir(run, "npu_appeals", night) / "appeals.csv"
        raw = path.read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")
        assert b"\r\n" in raw
        header, rows = read_csv(path, "utf-8-sig", ";")
        assert header == NPU_COLUMNS
        assert "\u02bc" in header[3]  # the column name itself carries U+02BC
        assert rows
        noise = noise_of(run, night, "npu_appeals")
        typos = 0
        for r in rows:
            assert r["номер_звернення"].isdigit()
            assert DMY.match(r["дата_реєстрації"]) and DMY.match(r["дата_зникнення"])
            assert r["дата_народження"] == "" or DMY.match(r["дата_народження"])
            assert r["стать"] in ("ч", "ж")
            assert r["категорія"] in ("військовослужбовець", "цивільний", "дитина")
            born = r["дата_народження"] and dt.datetime.strptime(r["дата_народження"], "%d.%m.%Y").date()
            gone = dt.datetime.strptime(r["дата_зникнення"], "%d.%m.%Y").date()
            registered = dt.datetime.strptime(r["дата_реєстрації"], "%d.%m.%Y").date()
            assert (not born or born <= gone) and gone <= registered <= night
            if r["рнокпп"]:
                # a number that disagrees with the record is a typo the truth names (and validation flags)
                planted = noise[r["номер_звернення"]]
                valid = rnokpp.is_valid(r["рнокпп"])
                assert valid or "rnokpp_typo" in planted
                if valid and rnokpp.sex(r["рнокпп"]) != ("M" if r["стать"] == "ч" else "F"):
                    assert planted & {"sex_rnokpp", "rnokpp_typo"}, planted
                if valid and born and rnokpp.birth_date(r["рнокпп"]) != born:
                    assert planted & {"birth_rnokpp", "rnokpp_typo"}, planted
                typos += bool(planted & {"sex_rnokpp", "rnokpp_typo", "birth_rnokpp"})
        assert typos < 0.01 * len(rows)


def test_mvs_register_cp1251_numbered_deltas(run):
    seqs = []
    seen_keys: set[str] = set()
    appeal_numbers: set[str] = set()
    for i, night in enumerate(run.nights):
        folder = drop_dir(run, "mvs_register", night)
        m = manifest(folder)
        seqs.append(m["seq"])
        (name,) = [f["name"] for f in m["files"]]
        assert name == f"register_{m['seq']:06d}.csv"
        raw = (folder / name).read_bytes()
        raw.decode("cp1251")  # strict
        assert not raw.startswith(b"\xef\xbb\xbf")
        with pytest.raises(UnicodeDecodeError):
            raw.decode("utf-8")
        header, rows = read_csv(folder / name, "cp1251", ",")
        assert header == MVS_COLUMNS
        noise = noise_of(run, night, "mvs_register")
        appeal_numbers |= {r["номер_звернення"] for r in read_records(drop_dir(run, "npu_appeals", night),
                                                                      "npu_appeals")}
        for r in rows:
            assert r["op"] in ("I", "U", "D")
            assert r["op"] != "I" or r["register_no"] not in seen_keys
            assert r["op"] == "I" or r["register_no"] in seen_keys or any(
                x["register_no"] == r["register_no"] and x["op"] == "I" for x in rows)
            seen_keys.add(r["register_no"])
            changed = dt.datetime.fromisoformat(r["changed_at"])
            assert changed.date() <= night and (i == 0 or changed.date() == night)
            assert ISO.match(r["status_date"]) and r["status_code"] in ("10", "20", "30", "40", "50")
            assert r["birth_date"] == "" or ISO.match(r["birth_date"])
            assert r["sex"] in ("M", "F") and r["person_group"] in ("1", "2", "3")
            assert re.match(r"^UA-\d{2}$", r["region"])
            assert not r["rnokpp"] or rnokpp.is_valid(r["rnokpp"]) or "rnokpp_typo" in noise[r["register_no"]]
            for ref in filter(None, r["appeal_refs"].split("|")):
                assert ref.isdigit()
        if i == 0:
            assert {r["op"] for r in rows} == {"I", "U", "D"}  # the first delta carries the whole history
            cited = {ref for r in rows for ref in r["appeal_refs"].split("|") if ref}
            assert cited and len(cited - appeal_numbers) < 0.05 * len(cited)  # (a few appeals were withdrawn)
    assert seqs == list(range(1, len(run.nights) + 1))


def test_coordhq_cases_json_lines(run):
    folder = drop_dir(run, "coordhq_cases", START)
    lines = (folder / "cases.jsonl").read_text(encoding="utf-8").splitlines()
    assert lines and all(line.startswith("{") for line in lines)
    statuses = set()
    for obj in map(json.loads, lines):
        assert list(obj) == ["case_id", "opened_on", "person", "military", "is_civilian", "status",
                             "status_confirmed_on", "confirmation_source", "office"]
        assert re.match(r"^KSH-\d{4}-\d{6}$", obj["case_id"])
        assert list(obj["person"]) == ["last_name", "first_name", "patronymic", "birth_date", "sex"]
        assert obj["person"]["sex"] in ("male", "female")
        assert (obj["military"] is None) == obj["is_civilian"]
        if obj["military"] is not None:
            assert list(obj["military"]) == ["rank", "unit", "service_no"]
        statuses.add(obj["status"])
        if obj["status"] == "missing":
            assert obj["status_confirmed_on"] is None
        else:
            assert ISO.match(obj["status_confirmed_on"])
    assert {"missing", "captivity_confirmed", "released", "deceased"} <= statuses


def test_sbu_registry_xlsx_sheet_and_excel_dates(run):
    path = drop_dir(run, "sbu_jc", START) / "registry.xlsx"
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Реєстр"]
    ws = wb["Реєстр"]
    header = [c.value for c in ws[1]]
    assert header == ["ПІБ", "Дата народження", "Місце утримання", "Країна", "Підтверджено", "Джерело", "Номер справи"]
    assert ws.max_row > 2
    for row in ws.iter_rows(min_row=2):
        full_name, born, _, country, confirmed, _, case_no = row
        surname = full_name.value.split(" ")[0]
        assert surname == surname.upper() and len(full_name.value.split(" ")) >= 2
        assert confirmed.is_date and isinstance(confirmed.value, dt.datetime) and confirmed.value.date() <= START
        assert born.value is None or born.is_date
        assert country.value in ("РФ", "РБ", "ТОТ")
        assert case_no.data_type == "s" and case_no.value.isdigit()


def test_ombudsman_icrc_exchange_children(run):
    folder = drop_dir(run, "ombudsman", START)
    raw = (folder / "civilians.csv").read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    header, rows = read_csv(folder / "civilians.csv", "utf-8", ",")
    assert header == ["case_no", "surname", "name", "patronymic", "birth_date", "category", "court", "sentence_years",
                      "icrc_confirmed", "confirmed_on", "region"]
    assert {r["category"] for r in rows} <= {"deprived_of_liberty", "enforced_disappearance", "illegally_convicted",
                                             "released"}
    assert {r["icrc_confirmed"] for r in rows} <= {"true", "false"}
    for r in rows:
        assert bool(r["court"]) == bool(r["sentence_years"]) == (r["category"] == "illegally_convicted")
    regions = {r["region"] for r in rows}
    assert any(x.startswith("UA-") for x in regions) and any(x.isascii() and not x.startswith("UA-") for x in regions)

    icrc = json.loads((drop_dir(run, "icrc_confirmations", START) / "confirmations.json").read_text("utf-8"))
    assert isinstance(icrc, list) and icrc
    assert {o["status"] for o in icrc} <= {"POW", "civilian_internee", "deceased", "released"}
    assert any("father_name" not in o for o in icrc) and any("father_name" in o for o in icrc)
    forms = {len(o["date_of_birth"]) for o in icrc}
    assert forms == {4, 7, 10}
    for o in icrc:
        assert re.match(r"^\d{4}(-\d{2}(-\d{2})?)?$", o["date_of_birth"])
        assert (o["family_name"] + o["first_name"] + o.get("father_name", "")).isascii()
        assert list(o)[:3] == ["icrc_ref", "family_name", "first_name"]

    for d in run.drops:
        if d.source_id == "exchange_returns":
            for name in d.files:
                assert re.match(r"^exchange_[^/|\s]+\.csv$", name)
                header, rows = read_csv(d.folder / name, "utf-8", ",")
                assert header == ["exchange_id", "exchange_date", "surname", "first_name", "patronymic", "birth_date",
                                  "category", "service_no"]
                assert name == f"exchange_{rows[0]['exchange_id']}.csv"
                assert {r["category"] for r in rows} <= {"military", "civilian"}
                assert all(dt.date.fromisoformat(r["exchange_date"]) < d.night for r in rows)

    header, rows = read_csv(drop_dir(run, "children_deported", START) / "children.csv", "utf-8", ",")
    assert header == ["child_id", "surname", "first_name", "patronymic", "birth_date", "sex", "status", "reported_on",
                      "last_known_region"]
    assert {r["status"] for r in rows} <= {"deported", "returned", "found", "deceased", "missing"}
    assert "deported" in {r["status"] for r in rows}


def test_names_carry_all_three_apostrophes_and_source_noise(run):
    seen = set()
    for sid in ("npu_appeals", "coordhq_cases", "ombudsman", "children_deported", "mvs_register"):
        text = "".join(p.read_bytes().decode("cp1251" if sid == "mvs_register" else "utf-8-sig")
                       for p in drop_dir(run, sid, START).iterdir() if p.name != "manifest.json")
        seen |= {c for c in "'\u2019\u02bc" if c in text}
        if sid == "mvs_register":
            assert "\u02bc" not in text  # not representable in Windows-1251
    assert seen == {"'", "\u2019", "\u02bc"}
    # several appeals for one person, from different relatives (same RNOKPP, different relation)
    rows = read_records(drop_dir(run, "npu_appeals", START), "npu_appeals")
    by_code: dict[str, set[str]] = {}
    for r in rows:
        if r["рнокпп"]:
            by_code.setdefault(r["рнокпп"], set()).add(r["заявник_спорідненість"])
    assert any(len(v) > 1 for v in by_code.values())


def test_files_pass_the_source_contracts_as_ingestion_reads_them(run):
    """The project's own parser and validation suite accept every row of every clean file: the planted typos
    are flags (a cut-short RNOKPP the only parse problem), never a failure."""
    flagged = 0
    for d in run.drops:
        contract = contracts.load(d.source_id)
        for f in manifest(d.folder)["files"]:
            parsed = parse.parse_file(contract, d.folder / f["name"], f["name"])
            assert {(p.field, p.reason) for p in parsed.problems} <= {("rnokpp", "does not match the pattern")}, \
                (d.source_id, parsed.problems[:3])
            assert len(parsed.rows) == f["rows"]
            if d.night == START or d.source_id == "mvs_register":
                outcome = validate.validate(contract, parsed.rows, extract_date=d.night, manifest_rows=f["rows"],
                                            problems=parsed.problems, file_name=f["name"])
                assert outcome.drop_failures == [] and outcome.row_failures == {}, (d.source_id, outcome.row_failures)
                flagged += len(outcome.row_flags)
    assert flagged
    assert {d.source_id for d in run.drops} == set(SOURCE_IDS)


def test_synth_writes_every_source_with_a_contract():
    assert sorted(SOURCE_IDS) == contracts.source_ids()
