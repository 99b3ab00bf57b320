"""The XLSX export shows each cell as the frame has it: text as text (never a formula or a link), a date as
its ISO text, a gap as an empty cell, numbers as numbers; and the same frame gives the same bytes, whenever
it is written (rustpy-xlsxwriter stamps the current time; the export rewrites it to FIXED_CREATED)."""

from __future__ import annotations

import datetime as dt
import decimal
import io
import time
import xml.etree.ElementTree as ET
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import rustpy_xlsxwriter
import xlsxwriter

from ridni.publish.exports import FIXED_CREATED, _reproducible, _write_xlsx


def _frame() -> pd.DataFrame:
    return pd.DataFrame({
        "pseudo_id": pd.array(["p_01", "=1+1", "http://x.example", "007", None, " lead", ""], dtype="string"),
        "effective_date": [dt.date(2024, 2, 29), None, dt.date(2022, 2, 24), dt.datetime(2024, 1, 2, 3, 4),
                           dt.date(2024, 3, 1), None, dt.date(2025, 1, 1)],
        "count": [1, 2, 3, 4, 5, 6, 2**40],
        "share": [0.5, np.nan, 1.25, -3.0, 0.0, 1e-9, 7.0],
        "flag": [True, False, True, True, False, False, True],
        "mixed": ["a", 1, None, 2.5, "{=SUM(A1)}", decimal.Decimal("1.5"), dt.date(2020, 1, 1)],
        "nullable": pd.array([1, None, 3, None, 5, 6, 7], dtype="Int64"),
    })


def _expected(value):
    """What a reader sees for a frame value."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)) or value == "":
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    return value


def _generic_write_xlsx(frame: pd.DataFrame, path) -> None:
    """The earlier writer (xlsxwriter's write() on every cell), kept as the reference for the cells."""
    workbook = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False,
                                               "constant_memory": True})
    workbook.set_properties({"created": FIXED_CREATED, "title": "ridni t"})
    ws = workbook.add_worksheet("t")
    ws.write_row(0, 0, list(frame.columns))
    for r, row in enumerate(frame.astype(object).where(frame.notna(), None).itertuples(index=False), start=1):
        ws.write_row(r, 0, ["" if v is None else (v.isoformat() if isinstance(v, dt.date) else v) for v in row])
    workbook.close()


def test_cells_read_back_as_the_frame_has_them(tmp_path):
    frame = _frame()
    _write_xlsx(frame, tmp_path / "t.xlsx", "t")
    wb = openpyxl.load_workbook(tmp_path / "t.xlsx")
    assert wb.sheetnames == ["t"]
    rows = list(wb.worksheets[0].iter_rows())
    assert [c.value for c in rows[0]] == list(frame.columns)
    got = [[c.value for c in row] + [None] * (frame.shape[1] - len(row)) for row in rows[1:]]
    want = [[_expected(v) for v in row] for row in frame.astype(object).itertuples(index=False)]
    assert got == want
    for row, values in zip(rows[1:], frame.astype(object).itertuples(index=False), strict=True):
        for cell, value in zip(row, values, strict=False):
            if isinstance(value, str) and value:
                assert cell.data_type == "s", cell.coordinate  # text stays text, whatever it looks like
            elif isinstance(value, bool):
                assert cell.data_type == "b", cell.coordinate
    with zipfile.ZipFile(tmp_path / "t.xlsx") as zf:
        sheet = zf.read("xl/worksheets/sheet1.xml").decode()
        core = zf.read("docProps/core.xml").decode()
    assert "<f>" not in sheet and "<f " not in sheet and "hyperlink" not in sheet
    assert "2022-02-24T00:00:00Z" in core and "ridni t" in core


def _cells(path) -> list:
    rows = openpyxl.load_workbook(path).worksheets[0].iter_rows()
    return [[(c.value, c.data_type) for c in row] for row in rows]


def test_same_frame_same_bytes_across_runs_a_second_apart_and_the_same_cells_as_xlsxwriter(tmp_path):
    frame = _frame()
    _write_xlsx(frame, tmp_path / "a.xlsx", "t")
    time.sleep(1.1)  # rustpy writes the current time (to the second) into docProps/core.xml
    _write_xlsx(frame, tmp_path / "b.xlsx", "t")
    assert (tmp_path / "a.xlsx").read_bytes() == (tmp_path / "b.xlsx").read_bytes()
    _generic_write_xlsx(frame, tmp_path / "reference.xlsx")
    # the same values and cell types (a number reads back as a float: the file stores a double either way)
    assert _cells(tmp_path / "a.xlsx") == _cells(tmp_path / "reference.xlsx")


def test_only_dates_and_properties_are_rewritten(tmp_path):
    raw = io.BytesIO()
    rustpy_xlsxwriter.write_worksheet(pd.DataFrame({"a": ["x"]}), raw, sheet_name="change_log")
    _reproducible(raw, tmp_path / "t.xlsx", "ridni change_log")
    with zipfile.ZipFile(raw) as before, zipfile.ZipFile(tmp_path / "t.xlsx") as after:
        assert after.testzip() is None
        assert [i.filename for i in after.infolist()] == [i.filename for i in before.infolist()]
        assert {(i.date_time, i.compress_type) for i in after.infolist()} == {
            (FIXED_CREATED.timetuple()[:6], zipfile.ZIP_DEFLATED)}
        for name in before.namelist():
            if name != "docProps/core.xml":
                assert after.read(name) == before.read(name), name
        core = after.read("docProps/core.xml")
    ns = {"dc": "http://purl.org/dc/elements/1.1/", "dcterms": "http://purl.org/dc/terms/"}
    root = ET.fromstring(core)  # still well-formed XML
    assert [e.text for e in root.findall("dc:title", ns)] == ["ridni change_log"]
    stamps = {root.find("dcterms:created", ns).text, root.find("dcterms:modified", ns).text}
    assert stamps == {"2022-02-24T00:00:00Z"}
    props = openpyxl.load_workbook(tmp_path / "t.xlsx").properties
    assert (props.title, props.created, props.modified) == ("ridni change_log", FIXED_CREATED, FIXED_CREATED)


def test_an_empty_frame_keeps_its_header(tmp_path):
    frame = _frame().iloc[:0]
    _write_xlsx(frame, tmp_path / "e.xlsx", "t")
    rows = list(openpyxl.load_workbook(tmp_path / "e.xlsx").worksheets[0].iter_rows(values_only=True))
    assert rows == [tuple(frame.columns)]
