"""Parsing real files of every source, in each source's exact format, and refusing broken or hostile ones.

The sample files are written here, independently of the synthetic generator, from SOURCES.md.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from ridni.contracts import load, source_ids
from ridni.ingest import parse
from ridni.ingest.parse import FileRejected, parse_file
from ridni.standardise import rnokpp

RN_PETRENKO = rnokpp.make(dt.date(1990, 5, 12), True, 11)
RN_KOVAL = rnokpp.make(dt.date(2012, 9, 3), True, 23)
PHONE = "+380501234567"

NPU = [
    {"номер_звернення": "20220000001", "дата_реєстрації": "01.03.2022", "прізвище": "Петренко", "імʼя": "Олександр",
     "по_батькові": "Іванович", "дата_народження": "12.05.1990", "стать": "ч", "рнокпп": RN_PETRENKO,
     "категорія": "військовослужбовець", "дата_зникнення": "24.02.2022", "область_зникнення": "Донецька",
     "населений_пункт": "Бахмут", "обставини": "Зник під час обстрілу; зв'язок втрачено",
     "заявник_спорідненість": "мати", "заявник_телефон": PHONE},
    {"номер_звернення": "20220000002", "дата_реєстрації": "15.04.2022", "прізвище": "Д'яченко", "імʼя": "Мар’яна",
     "по_батькові": "Олегівна", "дата_народження": "01.12.1985", "стать": "ж", "рнокпп": "",
     "категорія": "цивільний", "дата_зникнення": "10.04.2022", "область_зникнення": "Херсонська",
     "населений_пункт": "Олешки", "обставини": "Виїхала з міста.\nБільше не виходила на \"зв'язок\"",
     "заявник_спорідненість": "чоловік", "заявник_телефон": "0671112233"},
    {"номер_звернення": "20230000003", "дата_реєстрації": "02.02.2023", "прізвище": "Коваль", "імʼя": "Іван",
     "по_батькові": "Петрович", "дата_народження": "03.09.2012", "стать": "ч", "рнокпп": RN_KOVAL,
     "категорія": "дитина", "дата_зникнення": "20.01.2023", "область_зникнення": "Запорізька",
     "населений_пункт": "", "обставини": "", "заявник_спорідненість": "бабуся", "заявник_телефон": "0501110000"},
]
MVS = [
    {"register_no": "00001001", "op": "I", "changed_at": "2026-11-26T09:15:00", "surname": "Петренко",
     "given_name": "Олександр", "patronymic": "Іванович", "birth_date": "1990-05-12", "sex": "M",
     "rnokpp": RN_PETRENKO, "person_group": "1", "status_code": "10", "status_date": "2022-03-05",
     "region": "UA-14", "appeal_refs": "20220000001"},
    {"register_no": "00001001", "op": "U", "changed_at": "2026-11-26T16:40:10", "surname": "Петренко",
     "given_name": "Олександр", "patronymic": "Іванович", "birth_date": "1990-05-12", "sex": "M",
     "rnokpp": RN_PETRENKO, "person_group": "1", "status_code": "40", "status_date": "2026-11-20",
     "region": "UA-14", "appeal_refs": "20220000001|20220000002"},
    {"register_no": "00001002", "op": "D", "changed_at": "2026-07-01T12:00:00", "surname": "Д’яченко",
     "given_name": "Марія", "patronymic": "", "birth_date": "1985-12-01", "sex": "F", "rnokpp": "",
     "person_group": "2", "status_code": "50", "status_date": "2026-06-30", "region": "UA-65", "appeal_refs": ""},
]
COORDHQ = [
    {"case_id": "KSH-2022-000001", "opened_on": "2022-03-10",
     "person": {"last_name": "Петренко", "first_name": "Олександр", "patronymic": "Іванович",
                "birth_date": "1990-05-12", "sex": "male"},
     "military": {"rank": "старший солдат", "unit": "А0001", "service_no": "АА-123456"}, "is_civilian": False,
     "status": "captivity_confirmed", "status_confirmed_on": "2022-06-01", "confirmation_source": "icrc",
     "office": "Київ"},
    {"case_id": "KSH-2023-000002", "opened_on": "2023-01-20",
     "person": {"last_name": "Шевчук", "first_name": "Ганна", "patronymic": None, "birth_date": "1970-01-30",
                "sex": "female"},
     "military": None, "is_civilian": True, "status": "missing", "status_confirmed_on": None,
     "confirmation_source": None, "office": "Херсон"},
]
SBU_HEADER = ["ПІБ", "Дата народження", "Місце утримання", "Країна", "Підтверджено", "Джерело", "Номер справи"]
SBU = [
    ["ПЕТРЕНКО Олександр Іванович", dt.datetime(1990, 5, 12), "СІЗО-2 Таганрог", "РФ", dt.datetime(2022, 6, 1),
     "свідчення звільненого", "СБУ-0001"],
    ["ШЕВЧУК Ганна Петрівна", 25598, "Оленівка", "ТОТ", dt.datetime(2023, 2, 1), "відкриті джерела", "СБУ-0002"],
    ["КОВАЛЬЧУК Петро", "12.05.1975", "Мозир", "РБ", "2024-03-04", "", 3],
]
OMBUDSMAN = [
    {"case_no": "OMB-0001", "surname": "Шевчук", "name": "Ганна", "patronymic": "Петрівна", "birth_date": "1970-01-30",
     "category": "illegally_convicted", "court": "Південний окружний військовий суд", "sentence_years": "7.5",
     "icrc_confirmed": "true", "confirmed_on": "2024-02-11", "region": "Kherson oblast"},
    {"case_no": "OMB-0002", "surname": "Мельник", "name": "Олег", "patronymic": "Степанович",
     "birth_date": "1961-07-07", "category": "deprived_of_liberty", "court": "", "sentence_years": "",
     "icrc_confirmed": "false", "confirmed_on": "2023-05-05", "region": "UA-23"},
]
ICRC = [
    {"icrc_ref": "ICRC-UA-0001", "family_name": "Petrenko", "first_name": "Oleksandr", "father_name": "Ivanovych",
     "date_of_birth": "1990-05-12", "sex": "M", "status": "POW", "notified_on": "2022-07-01",
     "detaining_power": "Russian Federation"},
    {"icrc_ref": "ICRC-UA-0002", "family_name": "Shevchuk", "first_name": "Anna", "date_of_birth": "1970-01",
     "sex": "F", "status": "civilian_internee", "notified_on": "2023-03-01", "detaining_power": "Russian Federation"},
    {"icrc_ref": "ICRC-UA-0003", "family_name": "Melnik", "first_name": "Oleg", "father_name": "Stepanovich",
     "date_of_birth": "1961", "sex": "M", "status": "released", "notified_on": "2024-01-15",
     "detaining_power": "Russian Federation"},
]
EXCHANGE = [
    {"exchange_id": "EX-20261120", "exchange_date": "2026-11-20", "surname": "Петренко", "first_name": "Олександр",
     "patronymic": "Іванович", "birth_date": "1990-05-12", "category": "military", "service_no": "АА-123456"},
    {"exchange_id": "EX-20261120", "exchange_date": "2026-11-20", "surname": "Мельник", "first_name": "Олег",
     "patronymic": "Степанович", "birth_date": "1961-07-07", "category": "civilian", "service_no": ""},
]
CHILDREN = [
    {"child_id": "NIB-0000001", "surname": "Коваль", "first_name": "Іван", "patronymic": "Петрович",
     "birth_date": "2012-09-03", "sex": "M", "status": "deported", "reported_on": "2023-02-15",
     "last_known_region": "Запорізька"},
    {"child_id": "NIB-0000002", "surname": "Бондар", "first_name": "Софія", "patronymic": "",
     "birth_date": "2015-04-30", "sex": "F", "status": "returned", "reported_on": "2024-08-01",
     "last_known_region": "UA-63"},
]
SAMPLES = {
    "npu_appeals": ("appeals.csv", NPU), "mvs_register": ("register_000042.csv", MVS),
    "coordhq_cases": ("cases.jsonl", COORDHQ), "sbu_jc": ("registry.xlsx", SBU),
    "ombudsman": ("civilians.csv", OMBUDSMAN), "icrc_confirmations": ("confirmations.json", ICRC),
    "exchange_returns": ("exchange_EX-20261120.csv", EXCHANGE), "children_deported": ("children.csv", CHILDREN),
}
# Values that must never appear in a reason, a summary or Data Docs.
PERSONAL = ["Петренко", "Олександр", "Д'яченко", "Мар’яна", "Коваль", "Шевчук", "Мельник", "Бондар", "Petrenko",
            "Shevchuk", "ПЕТРЕНКО", RN_PETRENKO, RN_KOVAL, PHONE, "1990-05-12", "12.05.1990", "АА-123456",
            "Таганрог", "Оленівка"]


def csv_bytes(source_id: str, rows: list[dict], header: list[str] | None = None, *, eol: str | None = None) -> bytes:
    c = load(source_id)
    header = header or [col.source for col in c.columns]
    eol = eol or ("\r\n" if source_id in ("npu_appeals", "mvs_register") else "\n")
    buf = io.StringIO(newline="")
    w = csv.writer(buf, delimiter=c.delimiter, lineterminator=eol)
    w.writerow(header)
    for r in rows:
        w.writerow([r.get(h, "") for h in header])
    return buf.getvalue().encode(c.encoding)


def xlsx_bytes(rows: list[list], header: list[str] | None = None, sheet: str = "Реєстр") -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append(header or SBU_HEADER)
    for r in rows:
        ws.append(r)
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, dt.datetime):
                cell.number_format = "DD.MM.YYYY"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def sample_bytes(source_id: str, rows=None) -> bytes:
    rows = SAMPLES[source_id][1] if rows is None else rows
    fmt = load(source_id).format
    if fmt == "csv":
        return csv_bytes(source_id, rows)
    if fmt == "jsonl":
        return ("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n").encode()
    if fmt == "json":
        return ("[" + ",".join("\n  " + json.dumps(r, ensure_ascii=False) for r in rows) + "\n]\n").encode()
    return xlsx_bytes(rows)


def write_sample(tmp_path: Path, source_id: str, rows=None, data: bytes | None = None) -> Path:
    path = tmp_path / SAMPLES[source_id][0]
    path.write_bytes(sample_bytes(source_id, rows) if data is None else data)
    return path


def parse_sample(tmp_path: Path, source_id: str, rows=None, data: bytes | None = None):
    return parse_file(load(source_id), write_sample(tmp_path, source_id, rows, data))


def rejected(tmp_path: Path, source_id: str, data: bytes, **kwargs) -> FileRejected:
    path = write_sample(tmp_path, source_id, data=data)
    with pytest.raises(FileRejected) as info:
        parse_file(load(source_id), path, **kwargs)
    exc = info.value
    assert exc.file_name == path.name and exc.reason.startswith(path.name)
    assert not any(p in exc.reason for p in PERSONAL), exc.reason
    return exc


def by_key(parsed) -> dict:
    return {r["record_key"]: r for r in parsed.rows.to_dict("records")}


# ------------------------------------------------------------------------------------------ every source parses
@pytest.mark.parametrize("source_id", source_ids())
def test_every_source_parses_its_sample(tmp_path, source_id):
    parsed = parse_sample(tmp_path, source_id)
    rows = parsed.rows
    assert len(rows) == len(SAMPLES[source_id][1]) and parsed.problems == []
    assert rows.columns[0] == "line_no" and "record_key" in rows and "attributes" in rows
    assert rows["record_key"].notna().all()
    contract = load(source_id)
    for attrs in rows["attributes"]:
        assert list(json.loads(attrs)) == contract.attribute_fields


def test_npu_appeals_bom_semicolons_dmy_dates_quoted_newlines(tmp_path):
    data = sample_bytes("npu_appeals")
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data
    parsed = parse_sample(tmp_path, "npu_appeals")
    rows = by_key(parsed)
    # the second record's circumstances span two physical lines, so the third record is on line 5
    assert parsed.rows["line_no"].tolist() == [2, 3, 5]
    first = rows["20220000001"]
    assert (first["surname"], first["first_name"], first["sex"], first["person_type"]) == \
        ("Петренко", "Олександр", "M", "military")
    assert first["birth_date"] == "1990-05-12" and first["rnokpp"] == RN_PETRENKO
    assert first["registered_on"] == pd.Timestamp("2022-03-01") and first["disappeared_on"] == pd.Timestamp("2022-02-24")
    assert first["status"] == "missing" and first["region"] == "Донецька"
    second = rows["20220000002"]
    assert second["sex"] == "F" and second["person_type"] == "civilian" and pd.isna(second["rnokpp"])
    assert second["first_name"] == "Мар’яна"  # kept as delivered: standardisation comes later
    attrs = json.loads(second["attributes"])
    assert attrs["circumstances"] == "Виїхала з міста.\nБільше не виходила на \"зв'язок\""
    assert attrs["applicant_phone"] == "0671112233" and attrs["settlement"] == "Олешки"
    assert rows["20230000003"]["person_type"] == "child"
    assert json.loads(rows["20230000003"]["attributes"])["settlement"] is None


def test_npu_header_apostrophe_variants_are_the_same_column(tmp_path):
    header = [col.source.replace("ʼ", "'") for col in load("npu_appeals").columns]
    rows = [{h.replace("ʼ", "'"): v for h, v in r.items()} for r in NPU]
    parsed = parse_sample(tmp_path, "npu_appeals", data=csv_bytes("npu_appeals", rows, header))
    assert parsed.rows["first_name"].tolist()[0] == "Олександр"


def test_mvs_register_cp1251_codes_and_local_timestamps(tmp_path):
    data = sample_bytes("mvs_register")
    assert "Петренко".encode("cp1251") in data
    parsed = parse_sample(tmp_path, "mvs_register")
    rows = parsed.rows
    assert rows["op"].tolist() == ["I", "U", "D"]
    assert rows["status"].tolist() == ["missing", "captivity", "returned"]
    assert rows["person_type"].tolist() == ["military", "military", "civilian"]
    # Kyiv is UTC+2 in November and UTC+3 in July
    assert rows["changed_at"].tolist()[0] == pd.Timestamp("2026-11-26T07:15:00", tz="UTC")
    assert rows["changed_at"].tolist()[2] == pd.Timestamp("2026-07-01T09:00:00", tz="UTC")
    assert rows["appeal_refs"].tolist()[1] == "20220000001|20220000002"
    assert rows["surname"].tolist()[2] == "Д’яченко"
    assert rows["status_date"].tolist()[1] == pd.Timestamp("2026-11-20")


def test_mvs_status_code_and_person_group_mappings(tmp_path):
    codes = {"10": "missing", "20": "found_alive", "30": "found_dead", "40": "captivity", "50": "returned"}
    rows = [dict(MVS[0], register_no=f"0000{i}", status_code=code, person_group=str(i % 3 + 1))
            for i, code in enumerate(codes)]
    parsed = parse_sample(tmp_path, "mvs_register", rows)
    assert parsed.rows["status"].tolist() == list(codes.values())
    assert parsed.rows["person_type"].tolist() == ["military", "civilian", "child", "military", "civilian"]


def test_coordhq_nested_objects_and_booleans(tmp_path):
    parsed = parse_sample(tmp_path, "coordhq_cases")
    rows = by_key(parsed)
    assert parsed.rows["line_no"].tolist() == [1, 2]
    mil = rows["KSH-2022-000001"]
    assert (mil["surname"], mil["sex"], mil["service_no"], mil["person_type"]) == ("Петренко", "M", "АА-123456",
                                                                                     "military")
    assert json.loads(mil["attributes"]) == {"rank": "старший солдат", "unit": "А0001", "confirmation_source": "icrc",
                                             "office": "Київ"}
    civ = rows["KSH-2023-000002"]
    assert civ["person_type"] == "civilian" and pd.isna(civ["service_no"]) and pd.isna(civ["patronymic"])
    assert civ["sex"] == "F" and pd.isna(civ["status_date"]) and civ["registered_on"] == pd.Timestamp("2023-01-20")


def test_coordhq_exact_reader_agrees_with_the_fast_one(tmp_path):
    """A stray type sends the file to the exact reader; its rows must equal the fast reader's."""
    fast = parse_sample(tmp_path, "coordhq_cases")
    odd = [dict(COORDHQ[0]), dict(COORDHQ[1])]
    odd.append(dict(COORDHQ[1], case_id="KSH-2023-000003", office=7))  # a number where text is expected
    slow = parse_sample(tmp_path, "coordhq_cases", odd)
    contract = load("coordhq_cases")
    assert parse.json._read_jsonl_arrow(contract, sample_bytes("coordhq_cases")) is not None
    assert parse.json._read_jsonl_arrow(contract, sample_bytes("coordhq_cases", odd)) is None
    assert slow.rows.iloc[:2].drop(columns="attributes").equals(fast.rows.drop(columns="attributes"))
    assert slow.rows["attributes"].iloc[:2].tolist() == fast.rows["attributes"].tolist()
    assert json.loads(slow.rows["attributes"].iloc[2])["office"] == "7"


def test_sbu_xlsx_sheet_excel_dates_and_row_numbers(tmp_path):
    parsed = parse_sample(tmp_path, "sbu_jc")
    rows = by_key(parsed)
    assert parsed.rows["line_no"].tolist() == [2, 3, 4]
    first = rows["СБУ-0001"]
    assert first["full_name"] == "ПЕТРЕНКО Олександр Іванович" and first["birth_date"] == "1990-05-12"
    assert first["status"] == "detained" and first["status_date"] == pd.Timestamp("2022-06-01")
    assert json.loads(first["attributes"])["detaining_country"] == "RU"
    assert rows["СБУ-0002"]["birth_date"] == "1970-01-30"  # an Excel serial number (25598)
    assert rows["3"]["birth_date"] == "1975-05-12"  # text in the date format; a numeric case number as text
    assert rows["3"]["status_date"] == pd.Timestamp("2024-03-04")
    assert json.loads(rows["3"]["attributes"])["detaining_country"] == "BY"


def test_sbu_blank_rows_are_skipped_and_lines_are_sheet_rows(tmp_path):
    parsed = parse_sample(tmp_path, "sbu_jc", [SBU[0], [None] * 7, SBU[1]])
    assert parsed.rows["line_no"].tolist() == [2, 4]


def test_ombudsman_decimals_booleans_constants(tmp_path):
    rows = by_key(parse_sample(tmp_path, "ombudsman"))
    convicted = json.loads(rows["OMB-0001"]["attributes"])
    assert convicted == {"court": "Південний окружний військовий суд", "sentence_years": 7.5, "icrc_confirmed": True}
    assert json.loads(rows["OMB-0002"]["attributes"]) == {"court": None, "sentence_years": None,
                                                          "icrc_confirmed": False}
    assert rows["OMB-0001"]["person_type"] == "civilian" and rows["OMB-0001"]["status"] == "illegally_convicted"


def test_icrc_partial_birth_dates_and_a_missing_key(tmp_path):
    parsed = parse_sample(tmp_path, "icrc_confirmations")
    rows = by_key(parsed)
    assert parsed.rows["line_no"].tolist() == [1, 2, 3]  # JSON array: 1-based element index
    assert [rows[k]["birth_date"] for k in ("ICRC-UA-0001", "ICRC-UA-0002", "ICRC-UA-0003")] == \
        ["1990-05-12", "1970-01", "1961"]
    assert pd.isna(rows["ICRC-UA-0002"]["patronymic"])  # father_name may be missing
    assert [rows[k]["status"] for k in sorted(rows)] == ["pow", "civilian_internee", "released"]


def test_icrc_bad_partial_dates_are_row_problems(tmp_path):
    bad = [dict(ICRC[0], date_of_birth="1990-13"), dict(ICRC[1], date_of_birth="1970-02-30"),
           dict(ICRC[2], date_of_birth="61")]
    parsed = parse_sample(tmp_path, "icrc_confirmations", bad)
    assert [(p.line_no, p.field) for p in parsed.problems] == [(1, "birth_date"), (2, "birth_date"), (3, "birth_date")]
    assert parsed.rows["birth_date"].isna().all()


def test_exchange_returns_key_is_exchange_and_line(tmp_path):
    parsed = parse_sample(tmp_path, "exchange_returns")
    assert parsed.rows["record_key"].tolist() == ["EX-20261120/2", "EX-20261120/3"]
    assert parsed.rows["status"].tolist() == ["returned", "returned"]
    assert parsed.rows["status_date"].tolist() == [pd.Timestamp("2026-11-20")] * 2
    assert json.loads(parsed.rows["attributes"][0]) == {"exchange_id": "EX-20261120"}


def test_children_constant_person_type(tmp_path):
    rows = by_key(parse_sample(tmp_path, "children_deported"))
    assert rows["NIB-0000001"]["person_type"] == "child" and rows["NIB-0000002"]["status"] == "returned"


def test_header_only_file_is_zero_rows_not_an_error(tmp_path):
    parsed = parse_sample(tmp_path, "children_deported", [])
    assert len(parsed.rows) == 0 and parsed.problems == []
    assert list(parsed.rows.columns)[:2] == ["line_no", "record_key"]


# ------------------------------------------------------------------------------------------ row-level problems
def test_row_problems_name_line_field_and_reason_without_values(tmp_path):
    rows = [dict(NPU[0]), dict(NPU[1]), dict(NPU[2])]
    rows[0]["дата_народження"] = "31.02.1990"
    rows[1]["стать"] = "невідомо"
    rows[2]["прізвище"] = " "
    rows[2]["рнокпп"] = "12345"
    parsed = parse_sample(tmp_path, "npu_appeals", rows)
    got = [(p.line_no, p.field, p.reason) for p in parsed.problems]
    assert got == [
        (2, "birth_date", "not a date (%d.%m.%Y)"),
        (3, "sex", "value outside the allowed set"),
        (5, "rnokpp", "does not match the pattern"),
        (5, "surname", "required value missing"),
    ]
    assert len(parsed.rows) == 3  # rows stay; validation quarantines them
    assert parsed.rows["sex"].tolist()[1] == "невідомо"  # kept as delivered for the quarantine record
    assert not any(v in str(p) for p in parsed.problems for v in PERSONAL + ["невідомо", "12345"])


def test_a_short_row_in_the_middle_is_a_row_problem(tmp_path):
    data = sample_bytes("children_deported")
    lines = data.decode().splitlines()
    lines.insert(2, "NIB-9,Бондар,Софія")
    parsed = parse_sample(tmp_path, "children_deported", data=("\n".join(lines) + "\n").encode())
    assert [(p.line_no, p.field, p.reason) for p in parsed.problems] == \
        [(3, parse.ROW, "3 fields where the header has 9")]
    assert parsed.rows["line_no"].tolist() == [2, 3, 4]


def test_blank_lines_are_skipped_but_counted(tmp_path):
    data = sample_bytes("children_deported").replace(b"\nNIB-0000002", b"\n\n\nNIB-0000002")
    parsed = parse_sample(tmp_path, "children_deported", data=data)
    assert parsed.rows["line_no"].tolist() == [2, 5]


def test_stray_quote_inside_an_unquoted_field(tmp_path):
    rows = [dict(CHILDREN[0]), dict(CHILDREN[1])]
    data = csv_bytes("children_deported", rows).replace("Запорізька".encode(), 'Запорізька "обл'.encode())
    parsed = parse_sample(tmp_path, "children_deported", data=data)
    assert parsed.rows["region"].tolist() == ['Запорізька "обл', "UA-63"]
    assert parsed.rows["line_no"].tolist() == [2, 3]


def test_jsonl_row_problems_have_physical_lines(tmp_path):
    bad = dict(COORDHQ[1], is_civilian="???", status="lost", opened_on="2023-02-31")
    data = sample_bytes("coordhq_cases", [COORDHQ[0]]) + b"\n" + sample_bytes("coordhq_cases", [bad])
    parsed = parse_sample(tmp_path, "coordhq_cases", data=data)
    assert parsed.rows["line_no"].tolist() == [1, 3]
    assert [(p.line_no, p.field) for p in parsed.problems] == \
        [(3, "person_type"), (3, "registered_on"), (3, "status")]


# ------------------------------------------------------------------------------------------ refused files
@pytest.mark.parametrize("source_id", source_ids())
def test_empty_file(tmp_path, source_id):
    assert rejected(tmp_path, source_id, b"").what == "empty file (0 bytes)"
    assert "empty file" in rejected(tmp_path, source_id, b"\r\n  \n").what


@pytest.mark.parametrize("source_id", ["npu_appeals", "ombudsman", "coordhq_cases", "exchange_returns"])
def test_utf8_source_sent_in_windows_1251(tmp_path, source_id):
    data = sample_bytes(source_id).decode("utf-8-sig").encode("cp1251", errors="replace")
    exc = rejected(tmp_path, source_id, data)
    assert "not valid utf-8" in exc.what
    first_cyrillic = next(i for i, line in enumerate(data.split(b"\n"), start=1) if not line.isascii())
    assert exc.line_no == first_cyrillic


def test_invalid_utf8_names_the_line(tmp_path):
    data = sample_bytes("children_deported").replace("Бондар".encode(), b"\xd0\xb1\xff\xfe")
    exc = rejected(tmp_path, "children_deported", data)
    assert exc.line_no == 3 and exc.reason.startswith("children.csv, line 3: bytes that are not valid utf-8")


def test_register_sent_in_utf8(tmp_path):
    data = sample_bytes("mvs_register").decode("cp1251").encode("utf-8")
    assert rejected(tmp_path, "mvs_register", data).what == "text is UTF-8, the contract says cp1251"


def test_register_with_an_undefined_windows_1251_byte(tmp_path):
    data = sample_bytes("mvs_register").replace(b"UA-65", b"UA-\x98")
    exc = rejected(tmp_path, "mvs_register", data)
    assert exc.line_no == 4 and "not valid cp1251" in exc.what


@pytest.mark.parametrize("source_id", ["npu_appeals", "mvs_register", "ombudsman", "exchange_returns",
                                       "children_deported"])
def test_csv_renamed_column(tmp_path, source_id):
    c = load(source_id)
    rows = SAMPLES[source_id][1]
    old = c.columns[3].source
    header = [col.source if col.source != old else "renamed_" + str(i) for i, col in enumerate(c.columns)]
    data = csv_bytes(source_id, [{("renamed_3" if k == old else k): v for k, v in r.items()} for r in rows], header)
    exc = rejected(tmp_path, source_id, data)
    assert exc.what == (f"schema changed: column(s) missing: {old!r}; unexpected column(s): 1 at position(s) 4 "
                        "(names withheld); renamed?")


def test_csv_missing_and_added_columns(tmp_path):
    header = [col.source for col in load("ombudsman").columns]
    exc = rejected(tmp_path, "ombudsman", csv_bytes("ombudsman", OMBUDSMAN, header[:-1]))
    assert exc.what == "schema changed: column(s) missing: 'region'"
    exc = rejected(tmp_path, "ombudsman", csv_bytes("ombudsman", OMBUDSMAN, header + ["note"]))
    assert exc.what == "schema changed: unexpected column(s): 1 at position(s) 12 (names withheld)"
    # a header name could be a personal value (a data row taken as header, a renamed column): never quoted
    for name in ("Петренко", "Ivan Petrenko"):
        exc = rejected(tmp_path, "ombudsman", csv_bytes("ombudsman", OMBUDSMAN, header + [name]))
        assert exc.what == "schema changed: unexpected column(s): 1 at position(s) 12 (names withheld)"


def test_csv_wrong_delimiter(tmp_path):
    header = [col.source for col in load("npu_appeals").columns]
    buf = io.StringIO()
    csv.writer(buf, delimiter=",").writerows([header] + [[r[h] for h in header] for r in NPU])
    exc = rejected(tmp_path, "npu_appeals", buf.getvalue().encode("utf-8-sig"))
    assert exc.what == "schema changed: the header does not split on ';' (delimiter ','?)" and exc.line_no == 1


def test_jsonl_and_json_renamed_keys(tmp_path):
    rows = [{("opened" if k == "opened_on" else k): v for k, v in r.items()} for r in COORDHQ]
    exc = rejected(tmp_path, "coordhq_cases", sample_bytes("coordhq_cases", rows))
    assert exc.what == "schema changed: key(s) missing from every object: 'opened_on'; unexpected key(s): " \
                       "1 (names withheld); renamed?"
    rows = [dict(r, person={**r["person"], "dob": r["person"]["birth_date"]}) for r in COORDHQ]
    for r in rows:
        del r["person"]["birth_date"]
    exc = rejected(tmp_path, "coordhq_cases", sample_bytes("coordhq_cases", rows))
    assert "'person.birth_date'" in exc.what and "dob" not in exc.what
    rows = [{("dob" if k == "date_of_birth" else k): v for k, v in r.items()} for r in ICRC]
    exc = rejected(tmp_path, "icrc_confirmations", sample_bytes("icrc_confirmations", rows))
    assert exc.what == "schema changed: key(s) missing from every object: 'date_of_birth'; unexpected key(s): " \
                       "1 (names withheld); renamed?"


def test_xlsx_renamed_column_and_missing_sheet(tmp_path):
    header = ["ПІБ", "Дата нар.", *SBU_HEADER[2:]]
    exc = rejected(tmp_path, "sbu_jc", xlsx_bytes(SBU, header))
    assert exc.what == "schema changed: column(s) missing: 'Дата народження'; unexpected column(s): 1 at " \
                       "position(s) 2 (names withheld); renamed?"
    exc = rejected(tmp_path, "sbu_jc", xlsx_bytes(SBU, sheet="Петренко Іван"))  # a sheet named after a person
    assert exc.what == "sheet 'Реєстр' not found (the workbook has 1 other sheet(s), names withheld)"


@pytest.mark.parametrize("source_id", ["npu_appeals", "mvs_register", "ombudsman", "exchange_returns",
                                       "children_deported"])
def test_truncated_csv(tmp_path, source_id):
    data = sample_bytes(source_id)
    last_start = data.rstrip(b"\r\n").rfind(b"\n") + 1
    cut = last_start + 14
    while data[cut] & 0xC0 == 0x80:  # not inside a UTF-8 character
        cut += 1
    exc = rejected(tmp_path, source_id, data[:cut])
    assert exc.what.startswith("truncated: the last line ends without a line break, with ")
    assert exc.line_no == data[:cut].count(b"\n") + 1


def test_truncated_inside_a_character(tmp_path):
    data = sample_bytes("children_deported")
    cut = data.index("Бондар".encode()) + 1
    exc = rejected(tmp_path, "children_deported", data[:cut])
    assert exc.what == "truncated: the file ends inside a character" and exc.line_no == 3


def test_truncated_inside_a_quoted_field(tmp_path):
    data = sample_bytes("npu_appeals")
    cut = data[: data.index("Виїхала".encode())]
    exc = rejected(tmp_path, "npu_appeals", cut)
    assert exc.what == "truncated or malformed: a quoted field opened here is never closed" and exc.line_no == 3


def test_truncated_json_and_jsonl(tmp_path):
    data = sample_bytes("icrc_confirmations")
    exc = rejected(tmp_path, "icrc_confirmations", data[: len(data) * 2 // 3])
    assert exc.what == "truncated JSON: the document ends before it is complete"
    data = sample_bytes("coordhq_cases")
    exc = rejected(tmp_path, "coordhq_cases", data[:-40])
    assert exc.what == "not valid JSON (truncated: the file ends inside this line)" and exc.line_no == 2


def test_broken_json_shapes(tmp_path):
    assert rejected(tmp_path, "icrc_confirmations", b'{"icrc_ref": "x"}').what == \
        "expected a JSON array of objects, found a JSON dict"
    assert rejected(tmp_path, "icrc_confirmations", b'[{"icrc_ref": "x"}, 7]').what == \
        "element 2 of the array is not an object"
    assert rejected(tmp_path, "icrc_confirmations", b"[" * 100_000 + b"]" * 100_000).what == \
        "JSON nested too deeply"
    data = sample_bytes("coordhq_cases") + b"[1, 2]\n"
    exc = rejected(tmp_path, "coordhq_cases", data)
    assert exc.what == "not a JSON object" and exc.line_no == 3
    data = sample_bytes("coordhq_cases").replace(b"\n", b"\n{oops\n", 1)
    exc = rejected(tmp_path, "coordhq_cases", data)
    assert exc.what == "not valid JSON" and exc.line_no == 2


def test_truncated_xlsx(tmp_path):
    data = sample_bytes("sbu_jc")
    exc = rejected(tmp_path, "sbu_jc", data[: len(data) // 2])
    assert exc.what == "not a readable XLSX workbook (corrupt or truncated zip)"


@pytest.mark.parametrize(("blob", "what"), [
    (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "binary file: a PNG image posing as CSV"),
    (b"PK\x03\x04" + bytes(200), "binary file: a zip archive (XLSX/DOCX?) posing as CSV"),
    (b"\x1f\x8b\x08\x00" + bytes(100), "binary file: a gzip archive posing as CSV"),
    (b"case_no,surname\n" + bytes(np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8)),
     "binary content: NUL byte (not a text file)"),
    ("case_no,surname\n".encode("utf-16"), "text is UTF-16 (byte-order mark), the contract says a byte encoding"),
])
def test_binary_file_posing_as_csv(tmp_path, blob, what):
    assert rejected(tmp_path, "ombudsman", blob).what == what


def test_control_bytes_without_nul(tmp_path):
    blob = bytes(np.random.default_rng(2).integers(1, 32, 4000, dtype=np.uint8))
    assert rejected(tmp_path, "ombudsman", b"case_no\n" + blob).what == "binary content: control bytes (not a text file)"


def test_one_enormous_line(tmp_path):
    data = sample_bytes("children_deported") + b"NIB-9," + b"x" * (2 << 20) + b"\n"
    exc = rejected(tmp_path, "children_deported", data)
    assert exc.what == "line longer than the 1024 KiB limit (corrupt or not a record file)" and exc.line_no == 4
    exc = rejected(tmp_path, "coordhq_cases", b'{"case_id": "' + b"x" * (2 << 20) + b'"}\n')
    assert exc.line_no == 1 and exc.what.startswith("line longer than")


def test_file_over_the_size_cap(tmp_path):
    exc = rejected(tmp_path, "children_deported", sample_bytes("children_deported"), max_file_bytes=100)
    assert exc.what == "file larger than the limit (100 bytes)"


def test_a_huge_field_count_is_garbage(tmp_path):
    data = sample_bytes("children_deported") + b"," * 5000 + b"\n"
    exc = rejected(tmp_path, "children_deported", data)
    assert exc.what == "5001 fields where the header has 9" and exc.line_no == 4


def test_zip_bomb_posing_as_xlsx_is_refused_before_openpyxl_opens_it(tmp_path, monkeypatch):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        with zf.open("xl/worksheets/sheet1.xml", "w") as member:
            chunk = bytes(1 << 20)
            for _ in range(40):
                member.write(chunk)
    bomb = buf.getvalue()
    assert len(bomb) < 200_000

    def never(*args, **kwargs):
        raise AssertionError("openpyxl opened a zip bomb")

    monkeypatch.setattr(openpyxl, "load_workbook", never)
    exc = rejected(tmp_path, "sbu_jc", bomb)
    assert exc.what.startswith("zip bomb: a member expands ")
    monkeypatch.setattr(parse.xlsx, "MAX_XLSX_UNCOMPRESSED", 10_000)
    exc = rejected(tmp_path, "sbu_jc", sample_bytes("sbu_jc"))
    assert exc.what.startswith("zip bomb: ") and exc.what.endswith("uncompressed, over the limit (10000 bytes)")


def test_xlsx_that_is_not_a_zip(tmp_path):
    assert rejected(tmp_path, "sbu_jc", "ПІБ;Дата\n".encode()).what == "not an XLSX workbook (not a zip archive)"


def test_xlsx_with_a_far_away_row_stays_bounded(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Реєстр"
    ws.append(SBU_HEADER)
    ws.append(SBU[0])
    ws.cell(row=1_048_576, column=1, value="ПЕТРЕНКО Олександр")
    buf = io.BytesIO()
    wb.save(buf)
    parsed = parse_sample(tmp_path, "sbu_jc", data=buf.getvalue())
    assert parsed.rows["line_no"].tolist() == [2, 1_048_576]


# ------------------------------------------------------------------------------------------ large files (speed: see the benchmark)
def test_a_large_csv_parses_completely(tmp_path):
    n = 100_000
    rng = np.random.default_rng(3)
    born = pd.Timestamp("1960-01-01") + pd.to_timedelta(rng.integers(0, 20000, n), unit="D")
    frame = pd.DataFrame({col.source: "" for col in load("npu_appeals").columns}, index=range(n))
    frame["номер_звернення"] = (20220000000 + np.arange(n)).astype(str)
    frame["дата_реєстрації"] = "01.03.2022"
    frame["прізвище"], frame["імʼя"], frame["по_батькові"] = "Петренко", "Олександр", "Іванович"
    frame["дата_народження"] = born.strftime("%d.%m.%Y")
    frame["стать"] = np.where(rng.random(n) < 0.5, "ч", "ж")
    frame["категорія"] = "цивільний"
    frame["дата_зникнення"] = "24.02.2022"
    frame["обставини"] = "Зник; зв'язок втрачено"
    path = tmp_path / "appeals.csv"
    frame.to_csv(path, sep=";", index=False, encoding="utf-8-sig", lineterminator="\r\n")
    parsed = parse_file(load("npu_appeals"), path)
    assert len(parsed.rows) == n and parsed.problems == []
    assert parsed.rows["line_no"].iloc[-1] == n + 1
