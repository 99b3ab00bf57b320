"""A re-delivered full snapshot compared line by line with the source's previous one, before parsing.

Six sources send their whole register every night, and about one line in a hundred changes. Parsing
and validating every line again is work proportional to the register, not to the night's change. So
a snapshot in CSV or JSON Lines is cut into its lines (:func:`cut`), each line's 128-bit digest is
looked up in the index of the source's previous snapshot (:class:`LineIndex`, kept in
``staging.snapshot_lines``, one row per source, written in the load's transaction), and only the lines
that are not there are parsed and validated (:meth:`Lines.changed_body`). An unchanged line is the
record as it was loaded last night, so it has nothing to stage either.

What still covers the whole file: its size, encoding, format and schema (the header is part of every
changed body and must be last night's byte for byte, or every line counts as changed), its row count
against the manifest and against the previous snapshot, and the share of bad rows (the unchanged lines
count as rows that passed); the keys of every line (the withdrawals and the key's uniqueness).

A line is "unchanged" only when all of these hold, else it is parsed like any other:
- the previous snapshot loaded it (a quarantined line is parsed, and quarantined, every night it comes);
- the index describes the source's latest loaded snapshot, under the same contract and this code's
  :data:`INDEX_VERSION` (a contract change re-reads every line once);
- it occurs once in tonight's file, and no changed line carries its record's key.

Not compared line by line (parsed whole, as before): a JSON array or an XLSX workbook (no lines), a CSV
whose quoted values hold line breaks, a snapshot of several files.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ridni.contracts import Contract

# Bump when parsing or row validation changes what the same line would become: every index is then
# stale, and each source's next snapshot is read whole once.
INDEX_VERSION = 1

LINE_FORMATS = ("csv", "jsonl")
_BOM = b"\xef\xbb\xbf"


def fingerprint(contract: Contract) -> str:
    """What an index is valid for: the contract as loaded (every column, mapping and format) and the code."""
    return hashlib.sha256(f"{INDEX_VERSION}:{contract!r}".encode()).hexdigest()


def _digests(lines: list[bytes]) -> np.ndarray:
    """Each line's BLAKE2b-128 digest as two uint64 columns (a collision among a night's lines: ~1e-29)."""
    joined = b"".join([hashlib.blake2b(line, digest_size=16).digest() for line in lines])
    return np.frombuffer(joined, dtype=np.uint64).reshape(-1, 2)


@dataclass
class LineIndex:
    """The clean lines of a loaded snapshot: each line's digest and its record's key."""

    sha256: str          # the archived file it describes
    fingerprint: str
    header: bytes        # digest of the header line (CSV), b"" for JSON Lines
    digests: np.ndarray  # (n, 2) uint64
    keys: pa.Array       # string, one per digest

    def to_bytes(self) -> bytes:
        table = pa.table({"h1": self.digests[:, 0], "h2": self.digests[:, 1], "record_key": self.keys})
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema, options=pa.ipc.IpcWriteOptions(compression="zstd")) as w:
            w.write_table(table)
        return sink.getvalue().to_pybytes()

    @classmethod
    def from_bytes(cls, sha256: str, fp: str, header: bytes, data: bytes) -> LineIndex:
        table = pa.ipc.open_stream(data).read_all()
        digests = np.column_stack([table.column("h1").to_numpy(), table.column("h2").to_numpy()])
        return cls(sha256, fp, header, digests, table.column("record_key").combine_chunks())


@dataclass
class Lines:
    """A snapshot file cut into its record lines (the header and a byte-order mark apart)."""

    prefix: bytes          # the BOM and the header line with its line break (CSV); the BOM (JSON Lines)
    header: bytes          # digest of the header line (CSV), b"" for JSON Lines
    lines: list[bytes]     # the record lines, without their line breaks (blank lines included)
    first_line: int        # the file's line number of lines[0]
    ends_with_newline: bool
    digests: np.ndarray    # (len(lines), 2) uint64

    def changed_body(self, changed: np.ndarray) -> tuple[bytes, np.ndarray]:
        """The file with only the lines ``changed`` marks (a boolean per line), and for each of its lines
        the line number it has in the whole file."""
        picked = np.flatnonzero(changed)
        body = b"\n".join([self.lines[i] for i in picked])
        last_kept = len(picked) and picked[-1] == len(self.lines) - 1
        if body and (self.ends_with_newline or not last_kept):
            body += b"\n"
        line_of = picked + self.first_line
        if self.first_line > 1:  # the header is line 1 of both
            line_of = np.concatenate(([1], line_of))
        return self.prefix + body, line_of.astype(np.int64)

    def unchanged(self, index: LineIndex | None) -> tuple[np.ndarray, np.ndarray]:
        """Which lines the index holds (boolean per line), and where in the index each is (-1: not there)."""
        n = len(self.lines)
        if index is None or index.header != self.header or not len(index.digests):
            return np.zeros(n, dtype=bool), np.full(n, -1, dtype=np.int64)
        previous = pd.Index(index.digests[:, 0])
        at = previous.get_indexer(self.digests[:, 0]) if previous.is_unique else np.full(n, -1, dtype=np.int64)
        found = at >= 0
        found[found] = index.digests[at[found], 1] == self.digests[found, 1]
        # a line that occurs twice tonight is parsed: the key's uniqueness is checked on both
        found &= ~pd.Series(self.digests[:, 0]).duplicated(keep=False).to_numpy()
        return found, np.where(found, at, -1)


def cut(contract: Contract, data: bytes) -> Lines | None:
    """Tonight's file as lines, or None when it cannot be compared line by line (see the module)."""
    if contract.format not in LINE_FORMATS:
        return None
    bom = _BOM if data.startswith(_BOM) else b""
    body = data[len(bom):]
    if contract.format == "csv":
        arr = np.frombuffer(body, dtype=np.uint8)
        quotes = np.flatnonzero(arr == 34)
        if len(quotes):  # a line break inside quotes: records are not lines
            breaks = np.flatnonzero(arr == 10)
            if len(quotes) % 2 or (np.searchsorted(quotes, breaks) % 2).any():
                return None
    lines = body.split(b"\n")
    ends_with_newline = len(lines) > 1 and lines[-1] == b""
    if ends_with_newline:
        lines.pop()
    prefix, header, first_line = bom, b"", 1
    if contract.format == "csv":
        if not lines:
            return None
        head = lines.pop(0)
        prefix, header, first_line = bom + head + b"\n", hashlib.blake2b(head, digest_size=16).digest(), 2
        if not lines and not ends_with_newline:
            prefix = bom + head
    return Lines(prefix, header, lines, first_line, ends_with_newline, _digests(lines))


def load_index(conn: Connection, contract: Contract, latest_sha256: set[str]) -> LineIndex | None:
    """The index of the source's previous snapshot, if it describes the latest loaded one (``latest_sha256``:
    that snapshot's files) under this contract and code."""
    row = conn.execute(sa.text("SELECT sha256, fingerprint, header_digest, lines FROM staging.snapshot_lines "
                               "WHERE source_id = :s"), {"s": contract.source_id}).first()
    if row is None or {row.sha256} != latest_sha256 or row.fingerprint != fingerprint(contract):
        return None
    return LineIndex.from_bytes(row.sha256, row.fingerprint, bytes(row.header_digest), bytes(row.lines))


def save_index(conn: Connection, contract: Contract, load_id: int, sha256: str, lines: Lines | None,
               clean: np.ndarray | None = None, keys: pa.Array | None = None) -> None:
    """Keep tonight's clean lines (``clean``: boolean per line; ``keys``: their records' keys, in order) as
    the index the next snapshot is compared with; with ``lines`` None (a file not compared line by line)
    the source has no index until its next such snapshot."""
    if lines is None:
        conn.execute(sa.text("DELETE FROM staging.snapshot_lines WHERE source_id = :s"), {"s": contract.source_id})
        return
    index = LineIndex(sha256, fingerprint(contract), lines.header, lines.digests[clean], keys)
    conn.execute(sa.text("""
        INSERT INTO staging.snapshot_lines (source_id, load_id, sha256, fingerprint, header_digest, line_count, lines)
        VALUES (:s, :l, :sha, :fp, :h, :n, :lines)
        ON CONFLICT (source_id) DO UPDATE SET load_id = excluded.load_id, sha256 = excluded.sha256,
            fingerprint = excluded.fingerprint, header_digest = excluded.header_digest,
            line_count = excluded.line_count, lines = excluded.lines, saved_at = now()
    """), {"s": contract.source_id, "l": load_id, "sha": sha256, "fp": index.fingerprint, "h": lines.header,
           "n": int(clean.sum()), "lines": index.to_bytes()})
