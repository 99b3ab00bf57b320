"""CSV: records delimited by a fast scan (quoted line breaks included), read by Arrow when quotes
surround whole fields and by pandas' C reader otherwise; lines of the wrong width are row problems."""

from __future__ import annotations

import codecs
import csv
import io
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from ridni.contracts import Contract
from ridni.ingest.parse.common import MAX_EXTRA_FIELDS, ROW, FileRejected, Problem, _check_unnamed, _schema


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
