"""XLSX: the zip checked against bombs before openpyxl opens it, cells read as text, Excel dates as
ISO dates."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import numpy as np
import pandas as pd

from ridni.contracts import Contract
from ridni.ingest.parse.common import MAX_EXTRA_FIELDS, ROW, FileRejected, Problem, _check_unnamed, _schema

MAX_XLSX_UNCOMPRESSED = 512 << 20  # sum of the declared uncompressed sizes of the zip's members


MAX_XLSX_RATIO = 200               # uncompressed / compressed, for members above 1 MiB


MAX_XLSX_MEMBERS = 1000


MAX_XLSX_ROWS = 1_048_576          # Excel's own limit


def _check_zip(data: bytes, file_name: str) -> None:
    if not data.startswith(b"PK\x03\x04"):
        raise FileRejected("not an XLSX workbook (not a zip archive)", file_name)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        raise FileRejected("not a readable XLSX workbook (corrupt or truncated zip)", file_name) from None
    if len(infos) > MAX_XLSX_MEMBERS:
        raise FileRejected(f"zip with {len(infos)} members: not a plausible workbook", file_name)
    total = sum(i.file_size for i in infos)
    if total > MAX_XLSX_UNCOMPRESSED:
        raise FileRejected(f"zip bomb: {total} bytes uncompressed, over the limit ({MAX_XLSX_UNCOMPRESSED} bytes)",
                           file_name)
    for i in infos:
        if i.file_size > (1 << 20) and i.file_size > MAX_XLSX_RATIO * max(i.compress_size, 1):
            raise FileRejected(f"zip bomb: a member expands {i.file_size // max(i.compress_size, 1)}-fold",
                               file_name)
    if not any(i.filename == "[Content_Types].xml" for i in infos):
        raise FileRejected("not an XLSX workbook (no [Content_Types].xml)", file_name)


def _cell_text(v) -> str | None:
    if v is None:
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    if isinstance(v, dt.datetime):
        return v.date().isoformat() if v.time() == dt.time(0) else v.isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v)


def _excel_date_text(v, epoch) -> str | None:
    """An Excel date cell as ISO text: a date cell, a serial number, or text left for the date parser."""
    from openpyxl.utils.datetime import from_excel

    if isinstance(v, dt.datetime):
        return v.date().isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, int | float) and not isinstance(v, bool):
        try:
            moment = from_excel(v, epoch) if 0 < v < 2_958_466 else None  # serials up to 9999-12-31
        except (ValueError, OverflowError):
            moment = None
        return moment.date().isoformat() if isinstance(moment, dt.datetime) else "invalid-serial"
    return _cell_text(v)


def _read_xlsx(contract: Contract, data: bytes, file_name: str):
    import openpyxl

    _check_zip(data, file_name)
    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
    except Exception as exc:  # openpyxl raises many kinds for a broken workbook
        raise FileRejected(f"not a readable XLSX workbook ({type(exc).__name__})", file_name) from None
    try:
        if contract.sheet not in wb.sheetnames:
            raise FileRejected(f"sheet {contract.sheet!r} not found (the workbook has {len(wb.sheetnames)} "
                               "other sheet(s), names withheld)", file_name)
        ws = wb[contract.sheet]
        widest = len(contract.columns) + MAX_EXTRA_FIELDS
        rows = ws.iter_rows(min_row=1, max_row=MAX_XLSX_ROWS, min_col=1, max_col=widest, values_only=True)
        header, header_row = None, 0
        for i, r in enumerate(rows, start=1):
            if any(v is not None and str(v).strip() for v in r):
                header, header_row = r, i
                break
        if header is None:
            raise FileRejected(f"empty sheet {contract.sheet!r} (no header)", file_name)
        header = list(header)
        while header and (header[-1] is None or not str(header[-1]).strip()):
            header.pop()
        names = ["" if v is None else str(v) for v in header]
        positions = _schema(contract, names, file_name)
        width = len(names)
        body = []
        line_no = []
        problems: list[Problem] = []
        for i, r in enumerate(rows, start=header_row + 1):
            if not any(v is not None and (not isinstance(v, str) or v.strip()) for v in r):
                continue
            if any(v is not None for v in r[width:]):
                problems.append(Problem(i, ROW, f"values beyond the header's {width} columns"))
            body.append(r[:width])
            line_no.append(i)
        _check_unnamed(names, lambda j: pd.Series([r[j] if j < len(r) else None for r in body], dtype=object),
                       file_name)
        epoch = wb.epoch
    finally:
        wb.close()
    line_arr = np.asarray(line_no, dtype=np.int64)
    raw = {}
    for c in contract.columns:
        if c.field not in positions:
            raw[c.field] = pd.Series([None] * len(body), dtype="str")
            continue
        j = positions[c.field]
        conv = (lambda v: _excel_date_text(v, epoch)) if c.type == "excel_date" else _cell_text
        raw[c.field] = pd.Series([conv(r[j]) if j < len(r) else None for r in body], dtype="str")
    return raw, line_arr, problems
