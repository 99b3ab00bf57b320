"""Contract-driven parsing of one received file into canonical rows.

``parse_file(contract, file, file_name)`` reads the bytes (a path, a binary file
object or bytes), checks them before trusting them and returns a
:class:`ParsedFile`: ``rows`` (a DataFrame with ``line_no``, ``record_key``,
every core field of the canonical record, the source's other canonical fields
and ``attributes``, a JSON object of those other fields) and ``problems``
(row-level: line, field, reason; the row stays in ``rows`` and validation
quarantines it).

A file that cannot be trusted as a whole raises :class:`FileRejected` with a
reason that names the file (and the line where there is one) and never quotes
a value from the file: empty file, binary content, a line over the length cap,
undecodable bytes or the wrong encoding, a changed schema (columns or keys
missing, renamed or added), a truncated file, invalid JSON, a zip bomb posing
as XLSX. Every check is bounded: the file is read up to a size cap, lines up
to a length cap, an XLSX's declared uncompressed sizes are checked before
openpyxl opens it, and CSV is parsed by pandas' C reader with vectorised
conversion (a ~500k-row file takes seconds).

Values are kept as delivered except for trimming surrounding white space, type
conversion and the contract's ``allowed`` mapping; standardisation comes later
(:mod:`ridni.standardise`).

``read_file`` and ``parse_batch`` are the two halves of ``parse_file``: an event drop's files are each
read (and refused) on their own, then converted together (:class:`ParsedBatch`).

The package: :mod:`~ridni.ingest.parse.common` (bytes, text, schema, the result types), one module per
format (:mod:`~ridni.ingest.parse.csv`, :mod:`~ridni.ingest.parse.json`,
:mod:`~ridni.ingest.parse.xlsx`: delivered text per contract column), and
:mod:`~ridni.ingest.parse.canonical` (that text to canonical rows).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd

from ridni.contracts import Contract
from ridni.ingest.parse.canonical import _canonical
from ridni.ingest.parse.common import (
    BATCH_ROW,
    FILE_NO,
    MAX_FILE_BYTES,
    MAX_LINE_BYTES,
    ROW,
    FileRejected,
    ParsedBatch,
    ParsedFile,
    Problem,
    RawFile,
    _check_line_length,
    _decode,
    _read_bytes,
)
from ridni.ingest.parse.csv import _read_csv
from ridni.ingest.parse.json import _read_json, _read_jsonl
from ridni.ingest.parse.xlsx import MAX_XLSX_UNCOMPRESSED, _read_xlsx

__all__ = [
    "BATCH_ROW", "FILE_NO", "MAX_FILE_BYTES", "MAX_LINE_BYTES", "MAX_XLSX_UNCOMPRESSED", "ROW", "FileRejected",
    "ParsedBatch", "ParsedFile", "Problem", "RawFile", "file_bytes", "parse_batch", "parse_file", "read_file",
]


def file_bytes(src: str | os.PathLike | BinaryIO | bytes, file_name: str, *,
               max_file_bytes: int = MAX_FILE_BYTES) -> bytes:
    """A received file's bytes, refused (:class:`FileRejected`) above ``max_file_bytes`` before it is read further."""
    return _read_bytes(src, max_file_bytes, file_name)


def parse_file(contract: Contract, src: str | os.PathLike | BinaryIO | bytes, file_name: str | None = None, *,
               max_file_bytes: int = MAX_FILE_BYTES, max_line_bytes: int = MAX_LINE_BYTES) -> ParsedFile:
    """Read one received file with its source's contract; raise :class:`FileRejected` for a broken file."""
    read = read_file(contract, src, file_name, max_file_bytes=max_file_bytes, max_line_bytes=max_line_bytes)
    rows = _canonical(contract, read.raw, read.line_no, read.problems)
    read.problems.sort(key=lambda p: (p.line_no, p.field))
    return ParsedFile(contract.source_id, read.file_name, rows, read.problems)


def read_file(contract: Contract, src: str | os.PathLike | BinaryIO | bytes, file_name: str | None = None, *,
              max_file_bytes: int = MAX_FILE_BYTES, max_line_bytes: int = MAX_LINE_BYTES) -> RawFile:
    """Read one received file in its format, without converting its values (see :func:`parse_batch`);
    raise :class:`FileRejected` for a broken file."""
    if file_name is None:
        file_name = Path(src).name if isinstance(src, str | os.PathLike) else getattr(src, "name", None) or "file"
        file_name = Path(str(file_name)).name
    data = _read_bytes(src, max_file_bytes, file_name)
    if not data.strip(b" \t\r\n\xef\xbb\xbf"):
        raise FileRejected("empty file (no header, no data)" if data else "empty file (0 bytes)", file_name)
    fmt = contract.format
    if fmt == "xlsx":
        raw, line_no, problems = _read_xlsx(contract, data, file_name)
    else:
        body, text = _decode(contract, data, file_name)
        if fmt == "csv":
            _check_line_length(body, max_line_bytes, file_name)
            raw, line_no, problems = _read_csv(contract, body, text, file_name)
        elif fmt == "jsonl":
            _check_line_length(body, max_line_bytes, file_name)
            raw, line_no, problems = _read_jsonl(contract, body, text, file_name)
        else:
            raw, line_no, problems = _read_json(contract, text(), file_name)
    return RawFile(file_name, raw, line_no, problems)


def parse_batch(contract: Contract, files: list[RawFile]) -> ParsedBatch:
    """Convert the values of several files read by :func:`read_file` in one pass, as :func:`parse_file`
    converts one file's: the same rows and problems, with each row's file and batch number. Converting
    costs per column and per distinct value, so a drop of many small files costs about as much as
    one file of all their rows."""
    ids, lines, file_no, problems, last_numbers = [], [], [], [], []
    offset = 0
    for i, f in enumerate(files):
        numbers = np.arange(offset + 1, offset + len(f.line_no) + 1, dtype=np.int64)
        row_of = dict(zip(f.line_no.tolist(), numbers.tolist(), strict=True))
        offset += len(f.line_no)
        for p in f.problems:
            if p.line_no not in row_of:  # a problem of a line that is no row: a number of its own
                offset += 1
                row_of[p.line_no] = offset
            problems.append(Problem(row_of[p.line_no], p.field, p.reason))
        last_numbers.append(offset)
        ids.append(numbers)
        lines.append(np.asarray(f.line_no, dtype=np.int64))
        file_no.append(np.full(len(f.line_no), i, dtype=np.int64))
    raw = {name: pd.concat([f.raw[name].reset_index(drop=True) for f in files], ignore_index=True)
           for name in files[0].raw} if len(files) > 1 else files[0].raw
    batch_rows = np.concatenate(ids)
    rows = _canonical(contract, raw, batch_rows, problems, lines=np.concatenate(lines))
    rows[FILE_NO] = np.concatenate(file_no)
    rows[BATCH_ROW] = batch_rows
    problems.sort(key=lambda p: (p.line_no, p.field))
    return ParsedBatch(contract.source_id, [f.file_name for f in files], rows, problems,
                       [len(f.line_no) for f in files], last_numbers)
