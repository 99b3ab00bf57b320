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
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import functools
import io
import json
import os
import re
import string
import unicodedata
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ridni.contracts import CORE_FIELDS, LINE_NO, Column, Contract

MAX_FILE_BYTES = 1 << 30           # 1 GiB: a file above this is refused before it is read further
MAX_LINE_BYTES = 1 << 20           # 1 MiB: no legitimate record line comes near this
MAX_EXTRA_FIELDS = 64              # a CSV line with more extra fields than this is garbage, not a row
MAX_XLSX_UNCOMPRESSED = 512 << 20  # sum of the declared uncompressed sizes of the zip's members
MAX_XLSX_RATIO = 200               # uncompressed / compressed, for members above 1 MiB
MAX_XLSX_MEMBERS = 1000
MAX_XLSX_ROWS = 1_048_576          # Excel's own limit

ROW = "(row)"  # the `field` of a problem about the row as a whole (wrong number of fields, not an object)
_APOSTROPHES = str.maketrans({"'": "ʼ", "’": "ʼ", "‘": "ʼ", "`": "ʼ"})
_MAGIC = [
    (b"PK\x03\x04", "a zip archive (XLSX/DOCX?)"),
    (b"PK\x05\x06", "an empty zip archive"),
    (b"\xd0\xcf\x11\xe0", "an OLE2 document (old XLS/DOC?)"),
    (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"BZh", "a bzip2 archive"),
    (b"7z\xbc\xaf", "a 7-zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"SQLite format 3", "an SQLite database"),
    (b"\x7fELF", "an executable"),
    (b"MZ", "an executable"),
]
_PARTIAL_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
_TZ_SUFFIX = r"(?:[zZ]|[+-]\d{2}(?::?\d{2})?)$"


class FileRejected(Exception):
    """The whole file (and so its drop) is refused; ``reason`` names the file and, if known, the line."""

    def __init__(self, reason: str, file_name: str | None = None, line_no: int | None = None):
        where = file_name or "file"
        if line_no is not None:
            where += f", line {line_no}"
        self.what = reason
        self.reason = f"{where}: {reason}"
        self.file_name = file_name
        self.line_no = line_no
        super().__init__(self.reason)


@dataclass(frozen=True)
class Problem:
    """A value of one row that could not be taken as the contract says; never holds the value itself."""

    line_no: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


@dataclass
class ParsedFile:
    source_id: str
    file_name: str
    rows: pd.DataFrame
    problems: list[Problem] = field(default_factory=list)

    @property
    def rows_received(self) -> int:
        return len(self.rows)

    def problems_by_line(self) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {}
        for p in self.problems:
            out.setdefault(p.line_no, []).append(str(p))
        return out


@dataclass
class RawFile:
    """One received file read as its format says, before any value is converted: each contract column's
    delivered text, each row's line, the problems found reading it."""

    file_name: str
    raw: dict[str, pd.Series]
    line_no: np.ndarray
    problems: list[Problem]


FILE_NO = "file_no"      # a row's file in a batch: the file's position in the batch
BATCH_ROW = "batch_row"  # a row's number in a batch, 1.. through every file (each keeps its own line_no)


@dataclass
class ParsedBatch:
    """The files of a drop parsed together: ``rows`` as :class:`ParsedFile` has them plus :data:`FILE_NO`
    and :data:`BATCH_ROW`; ``problems`` name the batch row (:data:`BATCH_ROW`), not the line."""

    source_id: str
    file_names: list[str]
    rows: pd.DataFrame
    problems: list[Problem]
    rows_per_file: list[int]
    last_numbers: list[int]  # each file's last batch number (its rows', or a row-less problem's)

    def file_of(self, batch_rows) -> np.ndarray:
        """The file (its position in the batch) of each batch number."""
        return np.searchsorted(np.asarray(self.last_numbers), np.asarray(batch_rows), side="left")


# ------------------------------------------------------------------------------------------ entry point
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


# ------------------------------------------------------------------------------------------ bytes and text
def _read_bytes(src, cap: int, file_name: str) -> bytes:
    """The file's bytes, read in chunks up to ``cap`` (a single read(cap) would reserve cap bytes at once)."""
    if isinstance(src, bytes | bytearray | memoryview):
        data = bytes(src)
    else:
        f = open(src, "rb") if isinstance(src, str | os.PathLike) else src  # noqa: SIM115
        try:
            chunks, size = [], 0
            while size <= cap:
                chunk = f.read(min(1 << 20, cap + 1 - size))
                if not chunk:
                    break
                if not isinstance(chunk, bytes | bytearray):
                    raise TypeError("parse_file needs a binary file object")
                chunks.append(bytes(chunk))
                size += len(chunk)
        finally:
            if f is not src:
                f.close()
        data = b"".join(chunks)
    if len(data) > cap:
        raise FileRejected(f"file larger than the limit ({cap} bytes)", file_name)
    return data


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _check_binary(data: bytes, file_name: str, fmt: str) -> None:
    for magic, what in _MAGIC:
        if data.startswith(magic):
            raise FileRejected(f"binary file: {what} posing as {fmt.upper()}", file_name)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FileRejected("text is UTF-16 (byte-order mark), the contract says a byte encoding", file_name)
    nul = data.find(b"\x00")
    if nul >= 0:
        raise FileRejected("binary content: NUL byte (not a text file)", file_name, _line_of(data, nul))
    head = np.frombuffer(data[:65536], dtype=np.uint8)
    control = ((head < 9) | ((head > 13) & (head < 32))).sum()
    if control > max(8, len(head) // 100):
        raise FileRejected("binary content: control bytes (not a text file)", file_name)


def _decode(contract: Contract, data: bytes, file_name: str) -> tuple[bytes, Callable[[], str]]:
    """Check the text; return the body (BOM removed) and a function returning its text.

    The text is decoded when a reader asks for it (the JSON array reader, the readers' exact fallbacks):
    the fast CSV and JSON-lines readers read the bytes, and UTF-8 is checked by Arrow, in a fraction of
    the time decoding a large file takes."""
    _check_binary(data, file_name, contract.format)
    enc = codecs.lookup(contract.encoding).name
    utf8 = enc in ("utf-8", "utf-8-sig")
    body = data[3:] if data.startswith(codecs.BOM_UTF8) else data
    if not utf8 and body is not data:
        raise FileRejected(f"text is UTF-8 (byte-order mark), the contract says {contract.encoding}", file_name)
    if not utf8 and not body.isascii():
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            raise FileRejected(f"text is UTF-8, the contract says {contract.encoding}", file_name)
    if utf8 and _valid_utf8(body):
        return body, functools.cache(lambda: body.decode("utf-8"))
    try:
        text = body.decode("utf-8" if utf8 else enc)
    except UnicodeDecodeError as exc:
        if exc.end >= len(body) and "unexpected end" in exc.reason:
            raise FileRejected("truncated: the file ends inside a character", file_name,
                               _line_of(body, exc.start)) from None
        raise FileRejected(f"bytes that are not valid {contract.encoding} (wrong encoding?)", file_name,
                           _line_of(body, exc.start)) from None
    return body, lambda: text


def _valid_utf8(body: bytes) -> bool:
    """Arrow's UTF-8 validation of the bytes, without copying them."""
    offsets = pa.py_buffer(np.array([0, len(body)], dtype=np.int64))
    whole = pa.LargeBinaryArray.from_buffers(pa.large_binary(), 1, [None, offsets, pa.py_buffer(body)])
    try:
        whole.cast(pa.large_string())
    except pa.ArrowInvalid:
        return False
    return True


def _check_line_length(body: bytes, cap: int, file_name: str) -> None:
    arr = np.frombuffer(body, dtype=np.uint8)
    ends = np.concatenate(([-1], np.flatnonzero(arr == 10), [len(body)]))
    lengths = np.diff(ends) - 1
    worst = int(lengths.argmax())
    if lengths[worst] > cap:
        raise FileRejected(f"line longer than the {cap >> 10} KiB limit (corrupt or not a record file)",
                           file_name, worst + 1)


def _fold(name) -> str:
    """A header name for comparison: NFC, trimmed, every apostrophe form the same."""
    return unicodedata.normalize("NFC", str(name)).strip().translate(_APOSTROPHES)


def _describe(count: int, positions: list[int] | None = None) -> str:
    """Delivered names (headers, keys) by count and position only: a name is delivered text, and a header
    renamed to a person's name must not travel into a reason."""
    if positions is None:
        return f"{count} (names withheld)"
    return f"{count} at position(s) {', '.join(str(p + 1) for p in positions)} (names withheld)"


def _schema(contract: Contract, delivered: list[str], file_name: str, what: str = "column") -> dict[str, int]:
    """Map each contract column to its position in ``delivered``; reject a changed schema."""
    folded = [_fold(n) for n in delivered]
    dup_at = [i for i, n in enumerate(folded) if n and folded.count(n) > 1]
    if dup_at:
        raise FileRejected(f"schema changed: {what} names that appear more than once: "
                           f"{_describe(len(dup_at), dup_at)}", file_name)
    pos = {n: i for i, n in enumerate(folded)}
    expected = {_fold(c.source): c for c in contract.columns}
    missing = [c for f, c in expected.items() if f not in pos and not c.optional]
    unexpected_at = [i for i, n in enumerate(folded) if n not in expected and n]
    if missing or unexpected_at:
        parts = []
        if missing:
            parts.append(f"{what}(s) missing: " + ", ".join(repr(c.source) for c in missing))
        if unexpected_at:
            parts.append(f"unexpected {what}(s): " + _describe(len(unexpected_at), unexpected_at))
        if missing and unexpected_at:
            parts.append("renamed?")
        raise FileRejected("schema changed: " + "; ".join(parts), file_name)
    return {c.field: pos[f] for f, c in expected.items() if f in pos}


def _check_unnamed(header: list[str], values: Callable[[int], pd.Series], file_name: str) -> None:
    """Refuse data under a column without a header name (it would be dropped without a word)."""
    for i, name in enumerate(header):
        if not _fold(name):
            column = values(i)
            if column.notna().any() and column.dropna().astype(str).str.strip().ne("").any():
                raise FileRejected(f"values under column {i + 1}, which has no header name", file_name)


# ------------------------------------------------------------------------------------------ CSV
@dataclass
class _Records:
    start_line: np.ndarray  # physical line where each record starts (1-based)
    n_fields: np.ndarray
    ends_with_newline: bool


def _scan_csv(body: bytes, delim: str) -> tuple[_Records, int | None]:
    """Record boundaries and field counts, quote-aware, vectorised; and the line of an unclosed quote."""
    arr = np.frombuffer(body, dtype=np.uint8)
    nl = np.flatnonzero(arr == 10)
    dl = np.flatnonzero(arr == ord(delim))
    qpos = np.flatnonzero(arr == 34)
    unclosed = None
    if len(qpos):
        nl_out = nl[np.searchsorted(qpos, nl) % 2 == 0]
        dl_out = dl[np.searchsorted(qpos, dl) % 2 == 0]
        if len(qpos) % 2:
            opener = qpos[len(qpos) - 1 if (len(qpos) - 1) % 2 == 0 else len(qpos) - 2]
            unclosed = int(np.searchsorted(nl, opener)) + 1
    else:
        nl_out, dl_out = nl, dl
    starts = np.concatenate(([0], nl_out + 1))
    ends = np.concatenate((nl_out, [len(body)]))
    ends_with_newline = bool(len(body)) and body[-1:] == b"\n"
    if starts[-1] >= len(body):
        starts, ends = starts[:-1], ends[:-1]
    n_fields = np.bincount(np.searchsorted(ends, dl_out), minlength=len(starts))[: len(starts)] + 1
    start_line = np.searchsorted(nl, starts) + 1
    return _Records(start_line.astype(np.int64), n_fields.astype(np.int64), ends_with_newline), unclosed


def _scan_csv_slow(text: str, delim: str, file_name: str, unclosed: int | None = None) -> _Records:
    """The csv module's view of the records, for files whose quoting the fast scan cannot follow
    (a quote inside an unquoted field). A quoted field still open at the end of the file is a truncation."""
    for strict in (True, False):
        starts, counts = [], []
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim, strict=strict)
        line = 0
        try:
            for row in reader:
                starts.append(line + 1)
                counts.append(max(1, len(row)))
                line = reader.line_num
        except csv.Error as exc:
            # the rest of the file inside one quoted field: it ends, or grows past the csv module's field limit
            if "unexpected end of data" in str(exc) or (unclosed and "field limit" in str(exc)):
                raise FileRejected("truncated or malformed: a quoted field opened here is never closed", file_name,
                                   unclosed or line + 1) from None
            if not strict:
                reason = "field over the size limit" if "field limit" in str(exc) else "malformed CSV quoting"
                raise FileRejected(reason, file_name, line + 1) from None
            continue
        return _Records(np.asarray(starts, dtype=np.int64), np.asarray(counts, dtype=np.int64),
                        text.endswith("\n"))
    raise AssertionError("unreachable")


def _read_csv(contract: Contract, body: bytes, text: Callable[[], str], file_name: str):
    delim = contract.delimiter
    records, unclosed = _scan_csv(body, delim)
    if unclosed is not None:  # an odd number of quotes: truncated inside a quoted field, or a stray quote
        records = _scan_csv_slow(text(), delim, file_name, unclosed)
    if not len(records.start_line):
        raise FileRejected("empty file (no header)", file_name)
    header_end = body.find(b"\n") + 1 if len(records.start_line) > 1 else len(body)
    header_lines = int(records.start_line[1] - 1) if len(records.start_line) > 1 else 1
    if header_lines > 1:  # a quoted newline inside the header: take the header record as the csv module sees it
        header_end = _nth_line_end(body, header_lines)
    header_text = body[:header_end].decode("utf-8" if codecs.lookup(contract.encoding).name.startswith("utf-8")
                                           else contract.encoding)
    header = next(csv.reader(io.StringIO(header_text, newline=""), delimiter=delim), [])
    if len(header) == 1 and len(contract.columns) > 1:
        others = [d for d in ",;\t|" if d != delim and d in header[0]]
        if others:
            raise FileRejected(f"schema changed: the header does not split on {delim!r} "
                               f"(delimiter {others[0]!r}?)", file_name, 1)
    positions = _schema(contract, header, file_name)
    width = len(header)

    data = records.start_line[1:], records.n_fields[1:]
    start_line, n_fields = data
    if len(n_fields) and (n_fields.max() > width + MAX_EXTRA_FIELDS):
        worst = int(np.argmax(n_fields > width + MAX_EXTRA_FIELDS))
        raise FileRejected(f"{int(n_fields[worst])} fields where the header has {width}", file_name,
                           int(start_line[worst]))
    if len(n_fields) and not records.ends_with_newline and n_fields[-1] < width:
        raise FileRejected(f"truncated: the last line ends without a line break, with {int(n_fields[-1])} of "
                           f"{width} fields", file_name, int(start_line[-1]))
    names = list(range(max(width, int(n_fields.max()) if len(n_fields) else width)))
    frame = None
    if width > 1 and len(n_fields) and (n_fields == width).all():
        frame = _arrow_csv(contract, body[header_end:], delim, width, len(n_fields))
    if frame is None:
        frame = _pandas_csv(contract, body[header_end:], delim, names)
    if len(frame) != len(n_fields):  # quoting the fast scan misread (a quote inside an unquoted field)
        slow = _scan_csv_slow(text(), delim, file_name)
        start_line, n_fields = slow.start_line[1:], slow.n_fields[1:]
        names = list(range(max(width, int(n_fields.max()) if len(n_fields) else width)))
        frame = _pandas_csv(contract, body[header_end:], delim, names)
        if len(frame) != len(n_fields):
            raise FileRejected("malformed CSV: records cannot be delimited consistently (stray quotes?)",
                               file_name)
    # blank lines are not records
    blank = np.zeros(len(frame), dtype=bool)
    one = n_fields == 1
    if one.any():
        blank[one] = frame.loc[one, 0].str.strip().eq("").to_numpy()
    keep = ~blank
    frame = frame.loc[keep].reset_index(drop=True)
    start_line, n_fields = start_line[keep], n_fields[keep]

    _check_unnamed(header, lambda i: frame[i], file_name)
    problems: list[Problem] = []
    wrong = n_fields != width
    for ln, k in zip(start_line[wrong], n_fields[wrong], strict=True):
        problems.append(Problem(int(ln), ROW, f"{int(k)} fields where the header has {width}"))
    raw = {}
    for c in contract.columns:
        if c.field in positions:
            s = frame[positions[c.field]]
            if wrong.any():
                s = s.mask(wrong)
            raw[c.field] = s
        else:
            raw[c.field] = pd.Series([None] * len(frame), dtype="str")
    return raw, start_line, problems


def _nth_line_end(body: bytes, n: int) -> int:
    pos = -1
    for _ in range(n):
        pos = body.find(b"\n", pos + 1)
        if pos < 0:
            return len(body)
    return pos + 1


def _arrow_csv(contract: Contract, payload: bytes, delim: str, width: int, records: int) -> pd.DataFrame | None:
    """The frame :func:`_pandas_csv` reads, by Arrow's CSV reader (several times faster), for the common
    file: every record with the header's number of fields, every line ending in LF or CRLF, and quotes
    only around whole fields (opening at a field's start, closing at its end, doubled inside). Both
    readers agree on such a file; on anything else, or if Arrow disagrees with the scan's record
    count, None (and pandas reads the file, as before).
    """
    import pyarrow.csv as pa_csv

    if payload.count(b"\r") != payload.count(b"\r\n") or not _quotes_whole_fields(payload, delim):
        return None
    enc = codecs.lookup(contract.encoding).name
    columns = [str(i) for i in range(width)]
    try:
        table = pa_csv.read_csv(
            io.BytesIO(payload),
            read_options=pa_csv.ReadOptions(column_names=columns, block_size=1 << 24,
                                            encoding="utf8" if enc.startswith("utf-8") else enc),
            parse_options=pa_csv.ParseOptions(delimiter=delim, quote_char='"', double_quote=True, escape_char=False,
                                              newlines_in_values=True, ignore_empty_lines=False),
            convert_options=pa_csv.ConvertOptions(column_types={c: pa.string() for c in columns},
                                                  strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
    except (pa.ArrowException, ValueError, UnicodeError):
        return None
    if table.num_rows != records:
        return None
    return pd.DataFrame({i: pd.Series(table.column(c), dtype="str") for i, c in enumerate(columns)})


def _quotes_whole_fields(payload: bytes, delim: str) -> bool:
    """Every quote opens a field (after a delimiter or a line break), closes one (before a delimiter or a
    line break) or is one of a doubled pair inside a quoted field."""
    arr = np.frombuffer(payload, dtype=np.uint8)
    q = np.flatnonzero(arr == 34)
    if not len(q):
        return True
    if len(q) % 2:
        return False
    opening, closing = q[0::2], q[1::2]
    before = arr[np.maximum(opening - 1, 0)]
    ends = (ord(delim), 10, 13, 34)
    after = arr[np.minimum(closing + 1, len(arr) - 1)]
    return bool(((opening == 0) | np.isin(before, (ord(delim), 10, 34))).all()
                and ((closing == len(arr) - 1) | np.isin(after, ends)).all())


def _pandas_csv(contract: Contract, payload: bytes, delim: str, names: list[int]) -> pd.DataFrame:
    enc = codecs.lookup(contract.encoding).name
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pd.read_csv(
            io.BytesIO(payload), sep=delim, header=None, names=names, index_col=False, dtype="str",
            keep_default_na=False, na_values=[], skip_blank_lines=False, engine="c", quotechar='"',
            doublequote=True, encoding="utf-8" if enc.startswith("utf-8") else enc,
        )


# ------------------------------------------------------------------------------------------ JSON
def _read_jsonl(contract: Contract, body: bytes, text: Callable[[], str], file_name: str):
    fast = _read_jsonl_arrow(contract, body)
    if fast is not None:
        return fast
    lines = text().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
        ends_with_newline = True
    else:
        ends_with_newline = False
    numbered = [(i + 1, ln) for i, ln in enumerate(lines) if ln.strip()]
    line_no = np.fromiter((n for n, _ in numbered), dtype=np.int64, count=len(numbered))
    objs = None
    try:
        objs = json.loads("[" + ",".join(ln for _, ln in numbered) + "]")
        if len(objs) != len(numbered):
            objs = None
    except (ValueError, RecursionError):
        objs = None
    if objs is None:  # find the line at fault
        objs = []
        for n, ln in numbered:
            try:
                objs.append(json.loads(ln))
            except (ValueError, RecursionError):
                last = n == len(lines) and not ends_with_newline
                raise FileRejected("not valid JSON" + (" (truncated: the file ends inside this line)" if last
                                                        else ""), file_name, n) from None
    if not objs:
        raise FileRejected("no records (only blank lines)", file_name)
    for n, o in zip(line_no, objs, strict=True):
        if type(o) is not dict:
            raise FileRejected("not a JSON object", file_name, int(n))
    raw, problems = _from_objects(contract, objs, line_no, file_name)
    return raw, line_no, problems


def _read_jsonl_arrow(contract: Contract, body: bytes):
    """The common case, in pyarrow's JSON reader: every line an object with exactly the contract's keys and
    JSON types. Anything else (a stray key, a type that differs, a broken line, a key absent from the whole
    file) returns None, and the exact (slower) reader finds and names the problem."""
    import pyarrow.json as pj

    def leaf(c: Column):
        return pa.field(c.path[-1], pa.bool_() if c.type == "boolean" else pa.string())

    fields, groups = [], {}
    for c in contract.columns:
        if len(c.path) == 1:
            fields.append(leaf(c))
        else:
            if c.path[0] not in groups:
                groups[c.path[0]] = []
                fields.append(c.path[0])
            groups[c.path[0]].append(leaf(c))
    schema = pa.schema([f if isinstance(f, pa.Field) else pa.field(f, pa.struct(groups[f])) for f in fields])
    arr = np.frombuffer(body, dtype=np.uint8)
    ends = np.concatenate(([-1], np.flatnonzero(arr == 10), [len(body)]))
    lengths = np.diff(ends) - 1
    starts = ends[:-1] + 1
    blank = (lengths == 0) | ((lengths == 1) & (arr[np.minimum(starts, len(body) - 1)] == 13))
    line_no = (np.flatnonzero(~blank) + 1).astype(np.int64)
    try:
        table = pj.read_json(
            io.BytesIO(body),
            read_options=pj.ReadOptions(use_threads=True, block_size=MAX_LINE_BYTES + (1 << 20)),
            parse_options=pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="error",
                                          newlines_in_values=False),
        )
    except (pa.ArrowException, ValueError):
        return None
    if table.num_rows != len(line_no) or table.num_rows == 0:
        return None
    table = table.flatten()
    raw = {}
    for c in contract.columns:
        col = table.column(c.source)
        if col.null_count == len(col) and not c.optional:
            return None  # absent key or all null: the exact reader tells which
        if c.type == "boolean":
            values = col.to_pandas().map({True: "true", False: "false"})
            raw[c.field] = values.astype("str")
        else:
            raw[c.field] = pd.Series(col.to_pandas(), dtype="str")
    return raw, line_no, []


def _read_json(contract: Contract, text: str, file_name: str):
    try:
        doc = json.loads(text)
    except RecursionError:
        raise FileRejected("JSON nested too deeply", file_name) from None
    except json.JSONDecodeError as exc:
        last_line = text.rstrip().count("\n") + 1
        truncated = exc.lineno >= last_line and not text[exc.pos:].strip(" \t\r\n]}")
        truncated = truncated or (exc.lineno >= last_line and "Unterminated string" in exc.msg)
        raise FileRejected("truncated JSON: the document ends before it is complete" if truncated else
                           f"invalid JSON at column {exc.colno}", file_name, exc.lineno) from None
    if not isinstance(doc, list):
        raise FileRejected(f"expected a JSON array of objects, found a JSON {type(doc).__name__}", file_name)
    for i, o in enumerate(doc):
        if type(o) is not dict:
            raise FileRejected(f"element {i + 1} of the array is not an object", file_name)
    line_no = np.arange(1, len(doc) + 1, dtype=np.int64)
    raw, problems = _from_objects(contract, doc, line_no, file_name)
    return raw, line_no, problems


def _key_union(objs: list[dict]) -> set[str]:
    """Every key used by the objects (objects of one producer share few key layouts)."""
    out: set[str] = set()
    for layout in set(map(tuple, objs)):
        out.update(layout)
    return out


def _from_objects(contract: Contract, objs: list[dict], line_no: np.ndarray, file_name: str):
    """Check the keys against the contract; take each column's values as text."""
    keys = _key_union(objs)
    top = {c.path[0] for c in contract.columns}
    groups: dict[str, list[Column]] = {}
    for c in contract.columns:
        if len(c.path) == 2:
            groups.setdefault(c.path[0], []).append(c)
    missing = [c.source for c in contract.columns
               if len(c.path) == 1 and c.path[0] not in keys and not c.optional]
    missing += [g for g, cols in groups.items() if g not in keys and not all(c.optional for c in cols)]
    unexpected = sorted(k for k in keys if k not in top)
    subs: dict[str, list] = {}
    for g, cols in groups.items():
        subs[g] = list(map(dict.get, objs, repeat(g)))
        inner = [x for x in subs[g] if type(x) is dict]
        inner_keys = _key_union(inner)
        if inner:
            missing += [c.source for c in cols if c.path[1] not in inner_keys and not c.optional]
        known = {c.path[1] for c in cols}
        unexpected += sorted(f"{g}.{k}" for k in inner_keys if k not in known)
    if missing or unexpected:
        parts = []
        if missing:
            parts.append("key(s) missing from every object: " + ", ".join(repr(m) for m in missing))
        if unexpected:
            parts.append("unexpected key(s): " + _describe(len(unexpected)))
        if missing and unexpected:
            parts.append("renamed?")
        raise FileRejected("schema changed: " + "; ".join(parts), file_name)

    problems: list[Problem] = []
    raw: dict[str, pd.Series] = {}
    for c in contract.columns:
        path = c.path
        if len(path) == 1:
            values = list(map(dict.get, objs, repeat(path[0])))
        else:
            sub = subs[path[0]]
            values = [x.get(path[1]) if type(x) is dict else None for x in sub]
            for i, x in enumerate(sub):
                if x is not None and type(x) is not dict:
                    problems.append(Problem(int(line_no[i]), c.field, f"`{path[0]}` is not an object"))
        raw[c.field] = _scalars_as_text(values, c, line_no, problems)
    return raw, problems


def _scalars_as_text(values: list, column: Column, line_no: np.ndarray, problems: list[Problem]) -> pd.Series:
    kinds = set(map(type, values))
    if kinds <= {str, type(None)}:
        return pd.Series(values, dtype="str")
    out = []
    for i, v in enumerate(values):
        t = type(v)
        if t is str or v is None:
            out.append(v)
        elif t is bool:
            out.append("true" if v else "false")
        elif t is int:
            out.append(str(v))
        elif t is float:
            out.append(str(int(v)) if v.is_integer() else repr(v))
        else:
            problems.append(Problem(int(line_no[i]), column.field, "a nested value where a single value is expected"))
            out.append(None)
    return pd.Series(out, dtype="str")


# ------------------------------------------------------------------------------------------ XLSX
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


# ------------------------------------------------------------------------------------------ canonical rows
def _problems(problems: list[Problem], line_no: np.ndarray, mask, fld: str, reason: str) -> None:
    mask = np.asarray(mask, dtype=bool)
    if mask.any():
        problems.extend(Problem(int(n), fld, reason) for n in line_no[mask])


def _to_date(s: pd.Series, fmt: str) -> pd.Series:
    return pd.to_datetime(s, format=fmt, errors="coerce").astype("datetime64[us]")


def _convert_unique(contract: Contract, c: Column, u: pd.Series) -> tuple[pd.Series, np.ndarray, str | None]:
    """Convert the distinct delivered values of a column: (converted, bad mask, reason for the bad)."""
    storage = CORE_FIELDS.get(c.field)
    present = u.notna().to_numpy()
    if c.allowed is not None:
        mapping = {k.lower(): v for k, v in c.allowed.items()} if c.type == "boolean" else c.allowed
        key = u.str.lower() if c.type == "boolean" else u
        mapped = key.map(mapping)
        bad = present & mapped.isna().to_numpy()
        return mapped.where(~bad, u).astype("str"), bad, "value outside the allowed set"
    if c.type == "string":
        if c.pattern:
            ok = u.str.fullmatch(c.pattern).fillna(False).to_numpy(dtype=bool)
            return u, present & ~ok, "does not match the pattern"
        return u, np.zeros(len(u), dtype=bool), None
    if c.type in ("date", "excel_date"):
        fmt = c.format or contract.date_format
        d = _to_date(u, fmt)
        if c.type == "excel_date":
            iso = _to_date(u, "%Y-%m-%d")
            d = iso.where(iso.notna(), d)
        bad = present & d.isna().to_numpy()
        shown = fmt if c.type == "date" else f"an Excel date, or text in {fmt}"
        if storage == "birth":
            return d.dt.strftime("%Y-%m-%d").astype("str"), bad, f"not a date ({shown})"
        return d, bad, f"not a date ({shown})"
    if c.type == "partial_date":
        parts = u.str.extract(_PARTIAL_DATE)
        y, m, day = (pd.to_numeric(parts[i], errors="coerce") for i in range(3))
        full = _to_date(u.where(day.notna()), "%Y-%m-%d")
        ok = (y.notna() & (y >= 1) & (m.isna() | m.between(1, 12)) & (day.isna() | full.notna())).to_numpy()
        bad = present & ~ok
        return u.mask(bad), bad, "not a date (YYYY-MM-DD, YYYY-MM or YYYY)"
    if c.type == "timestamp":
        aware = u.str.contains(_TZ_SUFFIX, regex=True).fillna(False).to_numpy(dtype=bool)
        out = pd.Series(pd.NaT, index=u.index, dtype="datetime64[us, UTC]")
        if aware.any():
            out[aware] = pd.to_datetime(u[aware], format="ISO8601", utc=True, errors="coerce")
        naive = ~aware & present
        if naive.any():
            local = pd.to_datetime(u[naive], format="ISO8601", errors="coerce")
            local = local.dt.tz_localize(contract.timezone, ambiguous=np.ones(len(local), dtype=bool),
                                         nonexistent="shift_forward")
            out[naive] = local.dt.tz_convert("UTC")
        return out, present & out.isna().to_numpy(), "not an ISO 8601 timestamp"
    if c.type in ("integer", "decimal"):
        n = pd.to_numeric(u, errors="coerce").astype("float64")
        ok = n.notna() & np.isfinite(n)
        if c.type == "integer":
            ok &= n % 1 == 0
        if c.pattern:
            ok &= u.str.fullmatch(c.pattern).fillna(False)
        bad = present & ~ok.to_numpy()
        n = n.where(ok)
        return (n.astype("Int64") if c.type == "integer" else n.astype("Float64"), bad,
                "not an integer" if c.type == "integer" else "not a number")
    if c.type == "boolean":
        b = u.str.lower().map({"true": True, "false": False})
        return b.astype("boolean"), present & b.isna().to_numpy(), "not true or false"
    raise AssertionError(c.type)


def _convert(contract: Contract, c: Column, s: pd.Series, line_no: np.ndarray, problems: list[Problem],
             skip: np.ndarray) -> pd.Series:
    """One column, from delivered text to its canonical type; problems for what does not convert.

    Work is done once per distinct value (dates, codes and names repeat a lot) and spread back by code.
    """
    s = s.astype("str").str.strip()
    codes, uniq = pd.factorize(s, use_na_sentinel=True)
    u = pd.Series(uniq, dtype="str")
    u = u.mask(u == "")
    u = pd.concat([u, pd.Series([None], dtype="str")], ignore_index=True)  # the slot of missing values
    codes = np.where(codes < 0, len(u) - 1, codes)
    missing = u.isna().to_numpy()[codes]
    if c.required:
        _problems(problems, line_no, missing & ~skip, c.field, "required value missing")
    converted, bad_u, reason = _convert_unique(contract, c, u)
    if reason is not None:
        _problems(problems, line_no, bad_u[codes] & ~skip, c.field, reason)
    return converted.take(codes).reset_index(drop=True)


def _derive(template: str, values: dict[str, pd.Series], line_no: np.ndarray) -> pd.Series:
    n = len(line_no)
    out = pd.Series([""] * n, dtype="str")
    for literal, name, _, _ in string.Formatter().parse(template):
        if literal:
            out = out + literal
        if name is not None:
            part = pd.Series(line_no.astype(str), dtype="str") if name == LINE_NO else \
                values[name].astype("str").reset_index(drop=True)
            out = out + part
    return out


def _canonical(contract: Contract, raw: dict[str, pd.Series], line_no: np.ndarray,
               problems: list[Problem], lines: np.ndarray | None = None) -> pd.DataFrame:
    """The canonical rows; problems name each row by ``line_no``. ``lines``: each row's line in its file
    when ``line_no`` numbers the rows of several files (the derived fields and LINE_NO take the line)."""
    n = len(line_no)
    lines = line_no if lines is None else lines
    whole_row = {p.line_no for p in problems if p.field == ROW}
    skip = np.isin(line_no, list(whole_row)) if whole_row else np.zeros(n, dtype=bool)
    values: dict[str, pd.Series] = {}
    for c in contract.columns:
        values[c.field] = _convert(contract, c, raw[c.field].reset_index(drop=True), line_no, problems,
                                   skip).reset_index(drop=True)
    for f, v in contract.constants.items():
        values[f] = pd.Series([v] * n, dtype="str")
    for f, template in contract.derived.items():
        values[f] = _derive(template, values, lines)
        _problems(problems, line_no, values[f].isna().to_numpy() & ~skip, f,
                  "cannot be derived: a field it is made of is missing")

    out = pd.DataFrame({LINE_NO: lines.astype(np.int64)})
    for f in CORE_FIELDS:
        out[f] = values[f] if f in values else pd.Series([None] * n, dtype="object")
    attrs = contract.attribute_fields
    for f in attrs:
        out[f] = values[f]
    out["attributes"] = _attributes_json(out, attrs)
    return out


def _json_text(s: pd.Series) -> pa.Array:
    """Each value as a JSON literal (strings quoted and escaped, missing as null), vectorised: the
    literal of each distinct value is made once (relations, places and phrasings repeat a lot)."""
    if pd.api.types.is_datetime64_any_dtype(s):
        s = s.dt.strftime("%Y-%m-%d")
    elif pd.api.types.is_bool_dtype(s):
        return _large_text(s.map({True: "true", False: "false"}).astype("str").fillna("null"))
    elif pd.api.types.is_numeric_dtype(s):
        return _large_text(s.astype("str").where(s.notna(), "null").astype("str"))
    coded = pc.dictionary_encode(_large_text(s.astype("str")))
    distinct = coded.dictionary
    special = pc.fill_null(pc.match_substring_regex(distinct, r'[\\"\x00-\x1f]'), False)
    if pc.any(special).as_py():  # quotes, backslashes, line ends...: let json spell those values
        spelled = [json.dumps(v, ensure_ascii=False)[1:-1] if bad else v
                   for v, bad in zip(distinct.to_pylist(), special.to_pylist(), strict=True)]
        distinct = pa.array(spelled, type=distinct.type)
    quote = pa.scalar('"', pa.large_string())
    quoted = pc.binary_join_element_wise(quote, distinct, quote, pa.scalar("", pa.large_string()))
    return pc.fill_null(pc.take(quoted, coded.indices), pa.scalar("null", pa.large_string()))


def _large_text(s: pd.Series) -> pa.Array:
    arr = pa.array(s.array)
    return pc.cast(arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr, pa.large_string())


def _attributes_json(frame: pd.DataFrame, attrs: list[str]) -> pd.Series:
    """The non-core canonical fields of each row as a JSON object (keys in contract order)."""
    if not attrs or frame.empty:
        return pd.Series(["{}"] * len(frame), dtype="str", index=frame.index)
    parts: list = []
    for i, f in enumerate(attrs):
        parts += [pa.scalar(("{" if i == 0 else ",") + json.dumps(f) + ":", pa.large_string()),
                  _json_text(frame[f].reset_index(drop=True))]
    # one concatenation of every part (adding column by column copies the growing text again and again)
    text = pc.binary_join_element_wise(*parts, pa.scalar("}", pa.large_string()), pa.scalar("", pa.large_string()))
    return pd.Series(text, dtype="str", index=frame.index)
