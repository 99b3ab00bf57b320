"""Hostile values load as data, and nothing in an export runs as a formula or as markup.

Names and free-text fields of real generated drops (a ``;`` CSV with a BOM, the Windows-1251 register and
JSON Lines) are replaced with quotes, semicolons, SQL fragments, backslashes, control characters, format
strings and spreadsheet formulas; the drops go through the real ingestion into PostgreSQL and on to the
exports. The exports are then fed crafted marts whose every text cell is a formula or markup.
"""

from __future__ import annotations

import csv
import io
import json
import re
import stat
import zipfile

import openpyxl
import pandas as pd
import pytest
import sqlalchemy as sa
from secutil import START, refresh_manifest

from ridni.decide.run import decide_night
from ridni.ingest.run import ingest_source
from ridni.linkage.run import resolve_persons
from ridni.publish.exports import publish_night
from ridni.publish.marts import build_marts

HOSTILE = [
    "O'Коннор",
    'Лапки"подвійні"',
    "Крапка;кома,кома",
    "'; DROP TABLE core.source_record; --",
    "Robert'); --",
    "Бек\\слеш\\",
    "Дзвін\x07ESC\x1b[31mчервоний\x1b[0m",
    '=HYPERLINK("http://x.invalid/?"&A1,"клік")',
    "+380 SUM(A1)",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "%s %(name)s {0} ${jndi:ldap://x.invalid/a}",
    "$$; SELECT pg_sleep(30); $$",
    "Рядок\nперенесений",
    "Таб\tусередині",
    "\u202eдзеркальний",
    "E'\\x41' OR 1=1 --",
    "<script>alert(1)</script>",
]
FORMULA = re.compile(r"^[=+\-@\t\r]")
NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def _encodable(values: list[str], encoding: str) -> list[str]:
    out = []
    for v in values:
        try:
            v.encode(encoding)
        except UnicodeEncodeError:
            continue
        out.append(v)
    return out


def _rewrite_csv(
    path, encoding: str, delimiter: str, columns: list[str], values: list[str]
) -> dict[str, dict]:
    """Put hostile values into ``columns`` of the records of the first keys (every row of a key: the register
    repeats a key in its I/U rows); return {record key: {column: value}}."""
    text = path.read_bytes().decode(encoding)
    bom = text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=delimiter))
    header, body = rows[0], rows[1:]
    keys = list(dict.fromkeys(row[0] for row in body))[: len(values)]
    assert len(keys) == len(values)
    put = {}
    for row in body:
        if row[0] in keys:
            i = keys.index(row[0])
            for j, col in enumerate(columns):
                row[header.index(col)] = values[(i + j) % len(values)]
            put[row[0]] = {col: row[header.index(col)] for col in columns}
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerows([header, *body])
    path.write_bytes((("\ufeff" if bom else "") + buf.getvalue()).encode(encoding))
    return put


def _rewrite_jsonl(path, values: list[str]) -> dict[str, dict]:
    lines = path.read_text(encoding="utf-8").splitlines()
    put = {}
    for i in range(len(values)):
        obj = json.loads(lines[i])
        p = obj["person"]
        p["last_name"], p["first_name"], p["patronymic"] = (values[(i + k) % len(values)] for k in range(3))
        obj["office"] = values[(i + 3) % len(values)]
        put[obj["case_id"]] = {
            "surname": p["last_name"],
            "first_name": p["first_name"],
            "patronymic": p["patronymic"],
            "office": obj["office"],
        }
        lines[i] = json.dumps(obj, ensure_ascii=False)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return put


def _stored(engine, source_id: str, keys, fields: list[str]) -> dict[str, dict]:
    cols = ", ".join(
        f if f in ("surname", "first_name", "patronymic") else f"attributes->>'{f}' AS {f}" for f in fields
    )
    with engine.connect() as conn:
        rows = (
            conn.execute(
                sa.text(
                    f"SELECT record_key, {cols} FROM core.source_record "  # noqa: S608
                    "WHERE source_id = :s AND record_key = ANY(:k)"
                ),
                {"s": source_id, "k": list(keys)},
            )
            .mappings()
            .all()
        )
    return {r["record_key"]: {f: r[f] for f in fields} for r in rows}


def test_hostile_names_load_as_data_and_stay_out_of_the_exports(night_env, fresh_warehouse, tmp_path):
    _, engine = fresh_warehouse
    night_env(persons=120)
    landing = tmp_path / "landing"
    npu = landing / "npu_appeals" / START.isoformat()
    npu_put = _rewrite_csv(
        npu / "appeals.csv",
        "utf-8-sig",
        ";",
        ["прізвище", "імʼя", "по_батькові", "населений_пункт", "обставини", "заявник_спорідненість"],
        HOSTILE,
    )
    refresh_manifest(npu, "appeals.csv")
    reg = landing / "mvs_register" / START.isoformat()
    reg_file = next(reg.glob("register_*.csv")).name
    reg_values = _encodable(HOSTILE, "cp1251")
    assert len(reg_values) >= len(HOSTILE) - 2
    reg_put = _rewrite_csv(reg / reg_file, "cp1251", ",", ["surname", "given_name", "patronymic"], reg_values)
    refresh_manifest(reg, reg_file)
    hq = landing / "coordhq_cases" / START.isoformat()
    hq_put = _rewrite_jsonl(hq / "cases.jsonl", HOSTILE)
    refresh_manifest(hq, "cases.jsonl")

    for source_id in ("npu_appeals", "mvs_register", "coordhq_cases"):
        report = ingest_source(engine, source_id, START)
        assert report.status == "loaded", (source_id, report.reason)
        assert report.rows_quarantined == 0, source_id

    # the warehouse holds exactly what was delivered (trimmed of surrounding white space only)
    rename = {
        "прізвище": "surname",
        "імʼя": "first_name",
        "по_батькові": "patronymic",
        "населений_пункт": "settlement",
        "обставини": "circumstances",
        "заявник_спорідненість": "applicant_relation",
        "given_name": "first_name",
    }
    for source_id, put in (("npu_appeals", npu_put), ("mvs_register", reg_put), ("coordhq_cases", hq_put)):
        expected = {k: {rename.get(c, c): v.strip() for c, v in row.items()} for k, row in put.items()}
        fields = list(next(iter(expected.values())))
        assert _stored(engine, source_id, expected, fields) == expected, source_id
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT to_regclass('core.source_record')")).scalar() is not None
        by_source = dict(
            conn.execute(
                sa.text("SELECT source_id, count(*) FROM core.source_record GROUP BY source_id")
            ).all()
        )
    assert set(by_source) == {"npu_appeals", "mvs_register", "coordhq_cases"}

    # on through linkage, decisions, marts and exports: the names stay in the restricted layer
    resolve_persons(engine, START)
    decide_night(engine, START)
    build_marts(engine, START)
    folder = publish_night(engine, START, tmp_path / "exports")
    fragments = {v for v in HOSTILE if len(v) > 6}
    for path in folder.iterdir():
        data = path.read_bytes()
        texts = [data.decode("utf-8", "replace")]
        if data.startswith(b"PK"):
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                texts = [zf.read(n).decode("utf-8", "replace") for n in zf.namelist()]
        for text in texts:
            leaked = [v for v in fragments if v in text]
            assert not leaked, (path.name, leaked)
        assert stat.S_IMODE(path.stat().st_mode) == 0o640, path.name


# ------------------------------------------------------------------------------------------ exports
NIGHT = START
CRAFTED = {
    "count_category": "=1+1",
    "person_type": "+cmd|' /C calc'!A0",
    "region": "-2+3",
    "sex": "@SUM(A1)",
    "age_band": "\t=1",
    "pseudo_id": '=HYPERLINK("http://x.invalid","clk")',
    "change": "+change",
    "evidence_source": "@source",
    "evidence_record": "-R-1",
    "rule": "\r=rule",
    "grp": "=<script>alert(1)</script>",
    "recon_source": "=recon",
}

MID_CR = "R-1\r=1+1"  # a carriage return inside a value: a spreadsheet starts a new row (and cell) there


@pytest.fixture
def crafted_marts(fresh_warehouse):
    """Marts for one night whose every text cell would run as a formula (or markup) if left as it is."""
    _, engine = fresh_warehouse
    c = CRAFTED
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO marts.category_counts VALUES (:n, :cat, :pt, :reg, :sex, :age, 12, false, NULL), "
                "(:n, 'missing', 'civilian', 'UA-14', 'F', '18-29', NULL, true, 'primary')"
            ),
            {
                "n": NIGHT,
                "cat": c["count_category"],
                "pt": c["person_type"],
                "reg": c["region"],
                "sex": c["sex"],
                "age": c["age_band"],
            },
        )
        conn.execute(
            sa.text(
                "INSERT INTO marts.change_log VALUES (:n, :pid, :chg, 'missing', 'captive_pow', :n, :src, :rec, :rule, "
                "NULL), (:n, 'P-0000000000000001', 'category_change', 'missing', 'captive_pow', :n, 'ombudsman', "
                ":mid, 'r1', NULL), (:n, 'P-0000000000000002', 'category_change', 'missing', 'captive_pow', :n, "
                "'ombudsman', 'R-2', 'r1', NULL)"
            ),
            {
                "n": NIGHT,
                "pid": c["pseudo_id"],
                "chg": c["change"],
                "src": c["evidence_source"],
                "rec": c["evidence_record"],
                "rule": c["rule"],
                "mid": MID_CR,
            },
        )
        conn.execute(
            sa.text("INSERT INTO marts.headline VALUES (:n, 0, :g, 12, NULL, NULL)"),
            {"n": NIGHT, "g": c["grp"]},
        )
        conn.execute(
            sa.text("INSERT INTO marts.reconciliation VALUES (:n, :s, 'missing', 40, 40, 0, 0)"),
            {"n": NIGHT, "s": c["recon_source"]},
        )
    return engine


def _csv_cells(path) -> list[str]:
    with open(path, encoding="utf-8", newline="") as f:
        return [cell for row in list(csv.reader(f))[1:] for cell in row]


def test_exports_neutralise_formulas_in_csv_and_xlsx_and_escape_markup(crafted_marts, tmp_path):
    folder = publish_night(crafted_marts, NIGHT, tmp_path / "exports")
    # control characters become spaces (a CR would start a new row in many readers); formulas get a quote
    inert = {v: re.sub(r"[\x00-\x1f\x7f]", " ", v) for v in CRAFTED.values()}
    crafted = {v for v in inert.values() if FORMULA.match(v)}
    seen: set[str] = set()
    for name in ("counts", "change_log", "headline", "reconciliation"):
        cells = _csv_cells(folder / f"{name}.csv")
        risky = [v for v in cells if FORMULA.match(v) and not NUMBER.match(v)]
        assert not risky, (name, risky)
        seen |= {v[1:] for v in cells if v.startswith("'") and v[1:] in crafted}
    for name in ("counts", "change_log"):
        wb = openpyxl.load_workbook(folder / f"{name}.xlsx")
        cells = [cell for row in wb.worksheets[0].iter_rows(min_row=2) for cell in row]
        assert not [c.coordinate for c in cells if c.data_type == "f"], name
        values = [c.value for c in cells if isinstance(c.value, str)]
        assert not [v for v in values if FORMULA.match(v) and not NUMBER.match(v)], name
        seen |= {v[1:] for v in values if v.startswith("'") and v[1:] in crafted}
        with zipfile.ZipFile(folder / f"{name}.xlsx") as zf:
            sheet = zf.read("xl/worksheets/sheet1.xml").decode()
        assert "<f>" not in sheet and "<f " not in sheet, name
    assert seen == crafted, f"not found, neutralised: {crafted - seen}"
    assert not any("\r" in c or "\t" in c for c in _csv_cells(folder / "change_log.csv"))
    # Parquet keeps the values as they are (typed data, not a spreadsheet): documented in docs/security.md
    assert CRAFTED["pseudo_id"] in set(pd.read_parquet(folder / "change_log.parquet")["pseudo_id"])
    page = (folder / "summary.html").read_text(encoding="utf-8")
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert {stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()} == {0o640}


def test_summary_page_hides_small_move_counts(crafted_marts, tmp_path):
    """Three persons moved out of missing tonight: the summary must say <5, not 3 (DOMAIN.md: any breakdown)."""
    folder = publish_night(crafted_marts, NIGHT, tmp_path / "exports")
    page = (folder / "summary.html").read_text(encoding="utf-8")
    moves = page.split("<h2>Moves out of missing tonight</h2>")[1].split("<h2>")[0]
    cells = dict(re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td></tr>", moves))
    assert cells.get("captive_pow") == "&lt;5", cells
