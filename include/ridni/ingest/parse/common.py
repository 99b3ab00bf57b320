"""What every format's reader shares: the file's bytes and text checked before they are trusted, the
schema check of a header or of keys, and the results (:class:`ParsedFile`, :class:`RawFile`,
:class:`ParsedBatch`, :class:`Problem`, :class:`FileRejected`)."""

from __future__ import annotations

import codecs
import functools
import os
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from ridni.contracts import Contract

MAX_FILE_BYTES = 1 << 30           # 1 GiB: a file above this is refused before it is read further


MAX_LINE_BYTES = 1 << 20           # 1 MiB: no legitimate record line comes near this


MAX_EXTRA_FIELDS = 64              # a CSV line with more extra fields than this is garbage, not a row


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
