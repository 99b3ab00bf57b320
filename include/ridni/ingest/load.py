"""Loading a verified drop: parse, validate, COPY into staging, quarantine, merge into core.

Each drop is loaded in one transaction, under the lock of its source's night: a
task killed midway leaves nothing behind, its retry starts clean, and a second
ingest of the same night waits and then finds the work done. Received = loaded +
quarantined, always; the database enforces it on ``staging.load``.

What is loaded again and what is not:
- a full snapshot whose files are those of the source's latest load is unchanged
  (skipped); any other snapshot is loaded whole, an earlier state included, and of a
  one-file snapshot in lines (CSV, JSON Lines) only the lines that differ from the
  latest snapshot's are parsed and validated (:mod:`ridni.ingest.snapshot_lines`);
- an event file whose content was loaded before, under any name, is skipped;
- a register delta applies once per seq: the same seq with the same content is
  skipped, with other content refused with an alert.
The files of an event drop are loaded together (:func:`_load_files_together`: one
conversion, one GX run, one COPY), each file still with its own load, counts and
verdict; snapshots and register deltas load file by file.
A snapshot that would withdraw more than the contract's ``max_withdrawal_share``
of the source's standing records holds those withdrawals (``core.withdrawal_hold``)
with an alert until an operator confirms them (:func:`confirm_withdrawals`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ridni import timing
from ridni.alerts import Alert, raise_alert
from ridni.contracts import MIN_WITHDRAWALS_HELD, Contract
from ridni.db import copy_frame, read_text_frame
from ridni.ingest import drops, snapshot_lines
from ridni.ingest.parse import (
    BATCH_ROW,
    FILE_NO,
    FileRejected,
    Problem,
    file_bytes,
    parse_batch,
    parse_file,
    read_file,
)
from ridni.ingest.validate import quality_flags, validate

log = logging.getLogger(__name__)

# The canonical source record, in the column order of staging.record (docs/ARCHITECTURE.md).
CANONICAL_FIELDS = [
    "surname", "first_name", "patronymic", "full_name", "birth_date", "sex", "rnokpp", "service_no",
    "person_type", "status", "status_date", "region", "disappeared_on", "registered_on", "appeal_refs",
    "op", "changed_at",
]
# Disagreements inside a loaded record (ridni.ingest.validate.FLAGS), outside its content hash.
STAGING_COLUMNS = ["load_id", "line_no", "record_key", *CANONICAL_FIELDS, "attributes", "row_hash", "quality_flags"]


@dataclass
class FileReport:
    file_name: str
    status: str  # loaded | skipped_duplicate | rejected
    rows_received: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    load_id: int | None = None
    reason: str | None = None


@dataclass
class DropReport:
    source_id: str
    night: dt.date
    status: str  # loaded | skipped | rejected | held | no_drop
    files: list[FileReport] = field(default_factory=list)
    withdrawn: int = 0
    withdrawals_held: int = 0
    reason: str | None = None

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files)


def _with_row_hash(rows: pd.DataFrame) -> pd.DataFrame:
    """Hash the canonical content of each row, so an unchanged record is recognised next night.

    The value is pandas' ``hash_pandas_object(content.astype("string").fillna("\\x00"), index=False)`` as
    16 hex digits (what ``core.source_record.row_hash`` holds); it is computed here once per distinct
    value of each column instead of once per cell (see :func:`_column_hash`), which gives the same numbers.
    """
    columns = ["record_key", *CANONICAL_FIELDS, "attributes"]
    hashed = _combine_hashes([_column_hash(rows[c]) for c in columns], len(rows))
    return rows.assign(row_hash=_hex(hashed, rows.index))


_NA_TEXT = "\x00"  # what a missing value is hashed as


def _column_hash(s: pd.Series) -> np.ndarray:
    """``pd.util.hash_array`` of ``s.astype("string").fillna("\\x00")``, as ``hash_pandas_object`` hashes a
    column: each distinct value's text is hashed once.

    Text columns go to pandas as before (it hashes Arrow strings per distinct value already). Datetime
    columns and object columns of strings or nothing are converted to text one row per distinct value
    (turning a million timestamps into text is the slow part); equal values have equal text there, and a
    datetime column's format depends only on its set of values. Any other dtype (e.g. floats, where
    0.0 == -0.0) is converted cell by cell as before.
    """
    if pd.api.types.is_string_dtype(s.dtype) and s.dtype != object:
        return pd.util.hash_array(s.astype("string").fillna(_NA_TEXT).array)
    by_value = s.dtype.kind == "M" or isinstance(s.dtype, pd.DatetimeTZDtype) \
        or (s.dtype == object and pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty"))
    if not by_value:
        return pd.util.hash_array(s.astype("string").fillna(_NA_TEXT).array)
    codes, _ = pd.factorize(s, use_na_sentinel=True)
    present = codes >= 0
    _, first = np.unique(codes[present], return_index=True)  # a row holding each distinct value, by code
    distinct = s[present].iloc[first]
    text = _utc_text(distinct)
    if text is None:
        text = np.asarray(distinct.astype("string"), dtype=object)
    values = np.empty(len(text) + 1, dtype=object)  # (not np.append: numpy's own strings drop a trailing NUL)
    values[:-1] = text
    values[-1] = _NA_TEXT  # code -1 (missing) takes the last slot
    return pd.util.hash_array(values, categorize=False)[codes]


def _utc_text(s: pd.Series) -> np.ndarray | None:
    """``s.astype("string")`` of UTC timestamps without NaT, by Arrow instead of a Timestamp per value:
    ``YYYY-MM-DD HH:MM:SS[.fff|.ffffff]+00:00``, the fraction as fine as the finest value needs (as
    pandas writes them). None for anything else (another zone or unit, years outside 1-9999).
    """
    if not isinstance(s.dtype, pd.DatetimeTZDtype) or str(s.dtype.tz) != "UTC" or s.dtype.unit not in (
            "s", "ms", "us") or s.empty:
        return None
    wall = s.dt.tz_localize(None).to_numpy()
    years = wall.astype("M8[Y]").view("i8") + 1970
    if years.min() < 1 or years.max() > 9999:
        return None
    fraction = wall.astype("M8[us]").view("i8") % 1_000_000
    text = pc.replace_substring(pa.array(np.datetime_as_string(wall, unit="s")), "T", " ")
    if fraction.any():
        digits = 6 if (fraction % 1000).any() else 3
        part = pc.cast(pa.array(fraction if digits == 6 else fraction // 1000), pa.string())
        text = pc.binary_join_element_wise(text, pc.utf8_lpad(part, digits, "0"), ".")
    return pc.binary_join_element_wise(text, "+00:00", "").to_numpy(zero_copy_only=False)


def _combine_hashes(hashes: list[np.ndarray], n: int) -> np.ndarray:
    """pandas' ``combine_hash_arrays``, as ``hash_pandas_object`` combines a frame's column hashes
    (tests/ingest/test_load.py checks it still agrees with pandas)."""
    if not hashes:
        return np.full(n, 0x345678 + 97531, dtype=np.uint64)
    mult = np.uint64(1000003)
    out = np.zeros(n, dtype=np.uint64) + np.uint64(0x345678)
    for i, h in enumerate(hashes):
        inverse_i = len(hashes) - i
        out ^= h
        out *= mult
        mult += np.uint64(82520 + inverse_i + inverse_i)
    out += np.uint64(97531)
    return out


_HEX_DIGITS = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def _hex(hashed: np.ndarray, index: pd.Index) -> pd.Series:
    """Each uint64 as 16 lower-case hex digits (``"{:016x}".format``), without a Python call per row."""
    octets = hashed.astype(">u8").view(np.uint8).reshape(-1, 8)
    digits = np.empty((len(hashed), 16), dtype=np.uint8)
    digits[:, 0::2] = _HEX_DIGITS[octets >> 4]
    digits[:, 1::2] = _HEX_DIGITS[octets & 15]
    text = pa.FixedSizeBinaryArray.from_buffers(pa.binary(16), len(hashed), [None, pa.py_buffer(digits)])
    return pd.Series(text.cast(pa.string()), dtype="str", index=index)


@timing.timed("load/row_hash")
def _staging_frame(rows: pd.DataFrame, load_id: int) -> pd.DataFrame:
    out = rows.copy(deep=False)  # columns are replaced, never written in place (copy-on-write)
    for col in CANONICAL_FIELDS + ["attributes"]:
        if col not in out:
            out[col] = None
    attributes = out["attributes"]
    # the parser's attributes are JSON text already: a per-row conversion only for anything else
    if not (pd.api.types.is_string_dtype(attributes.dtype) and attributes.dtype != object
            and not attributes.isna().any()):
        out["attributes"] = attributes.map(_attributes_text)
    out = _with_row_hash(out)
    out["load_id"] = load_id
    return out


def _attributes_text(a) -> str:
    return a if isinstance(a, str) else json.dumps(a or {}, ensure_ascii=False, sort_keys=True)


def _standing(conn: Connection, source_id: str) -> pd.DataFrame:
    """The source's standing records (not withdrawn): key and content hash."""
    return read_text_frame(conn, "SELECT record_key, row_hash FROM core.source_record "
                                 "WHERE source_id = %(s)s AND withdrawn_on IS NULL", {"s": source_id})


def _news(standing: pd.DataFrame, good: pd.DataFrame) -> pd.DataFrame:
    """The rows that change something: new, changed, withdrawn or reinstated records.

    A snapshot repeats every record every night; the archived file keeps them all, and staging
    (and the merge into core after it) needs only the file's last line per record whose content
    differs from the standing record. This keeps a night's warehouse writes proportional to the
    night's change.
    """
    if standing.empty:
        return good
    keys = good["record_key"]
    last = ~keys.duplicated(keep="last").to_numpy()
    # the standing hash of each row's record (null where none), looked up by Arrow: pandas' own
    # lookups of Arrow strings take seconds for a few hundred thousand keys
    at = pc.index_in(_arrow_text(keys), value_set=_arrow_text(standing["record_key"]))
    before = pc.take(_arrow_text(standing["row_hash"]), at)
    same = pc.fill_null(pc.equal(before, _arrow_text(good["row_hash"])), False).to_numpy(zero_copy_only=False)
    return good[last & ~same]


def _arrow_text(values: pd.Series) -> pa.Array:
    arr = pa.array(values.astype("str").array)
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def _last_applied_seq(conn: Connection, source_id: str) -> int | None:
    return conn.execute(
        sa.text("SELECT max(seq) FROM core.delta_applied WHERE source_id = :s"), {"s": source_id}
    ).scalar()


def _start_load(conn: Connection, drop: drops.Drop, f: drops.ArchivedFile, dag_run_id: str | None) -> int:
    return conn.execute(
        sa.text(
            "INSERT INTO staging.load (drop_id, source_id, extract_date, file_name, sha256, status, dag_run_id) "
            "VALUES (:d, :s, :n, :f, :sha, 'running', :r) RETURNING load_id"
        ),
        {"d": drop.drop_id, "s": drop.source_id, "n": drop.night, "f": f.name, "sha": f.sha256, "r": dag_run_id},
    ).scalar_one()


def _finish_load(conn: Connection, load_id: int, report: FileReport) -> None:
    conn.execute(
        sa.text(
            "UPDATE staging.load SET status=:st, rows_received=:rr, rows_loaded=:rl, rows_quarantined=:rq, "
            "reason=:reason, finished_at=now() WHERE load_id=:l"
        ),
        {"st": report.status, "rr": report.rows_received, "rl": report.rows_loaded,
         "rq": report.rows_quarantined, "reason": report.reason, "l": load_id},
    )


def reject_drop(conn: Connection, drop: drops.Drop, exc: drops.DropRejected | FileRejected, *,
                status: str = "rejected", kind: str | None = None, dag_id: str | None = None,
                dag_run_id: str | None = None) -> DropReport:
    """Record a refused drop: ``raw.drop`` status, a quarantine row naming file and line, an alert.

    A drop that was loaded keeps its status: what is refused then is a later delivery (another drop).
    """
    reason = getattr(exc, "reason", str(exc))
    file_name = getattr(exc, "file_name", None)
    line_no = getattr(exc, "line_no", None)
    already = conn.execute(
        sa.text("SELECT 1 FROM quarantine.rejected_drop WHERE drop_id=:d AND reason=:r"),
        {"d": drop.drop_id, "r": reason},
    ).first()
    if already:  # a rerun of a refused night: recorded and alerted once already
        return DropReport(drop.source_id, drop.night, status, reason=reason)
    conn.execute(
        sa.text("UPDATE raw.drop SET status=:st, reason=:r, finished_at=now() WHERE drop_id=:d AND status <> 'loaded'"),
        {"st": status, "r": reason, "d": drop.drop_id},
    )
    qid = conn.execute(
        sa.text(
            "INSERT INTO quarantine.rejected_drop (source_id, extract_date, drop_id, file_name, line_no, reason, "
            "dag_run_id) VALUES (:s, :n, :d, :f, :l, :r, :run) RETURNING id"
        ),
        {"s": drop.source_id, "n": drop.night, "d": drop.drop_id, "f": file_name, "l": line_no, "r": reason,
         "run": dag_run_id},
    ).scalar_one()
    where = f"{file_name}, line {line_no}" if line_no else (file_name or "drop")
    raise_alert(conn, Alert(
        kind=kind or ("seq_gap" if status == "held" else "drop_rejected"),
        severity="error",
        message=f"drop {status}, nothing loaded ({where}): {reason}",
        source_id=drop.source_id, extract_date=drop.night,
        quarantine_ref=f"quarantine.rejected_drop id={qid}; archived drop_id={drop.drop_id}",
        dag_id=dag_id, dag_run_id=dag_run_id,
    ))
    return DropReport(drop.source_id, drop.night, status, reason=reason)


def _previous_rows(conn: Connection, source_id: str, night: dt.date) -> int | None:
    """The size of the source's previous snapshot, leaving out one whose withdrawals were held and never
    confirmed (a cut-short export is no measure for the next full one)."""
    return conn.execute(
        sa.text(
            "SELECT rows_received FROM staging.load l WHERE source_id=:s AND extract_date<:n AND status='loaded' "
            "AND NOT EXISTS (SELECT FROM core.withdrawal_hold h WHERE h.load_id = l.load_id "
            "AND h.status <> 'confirmed') ORDER BY extract_date DESC, load_id DESC LIMIT 1"
        ),
        {"s": source_id, "n": night},
    ).scalar()


def _load_file(conn: Connection, contract: Contract, drop: drops.Drop, f: drops.ArchivedFile,
               declared_rows: int | None, max_bad_share: float, max_volume_change: float,
               dag_run_id: str | None, standing: pd.DataFrame | None = None, *,
               compare_lines: bool = False, previous: snapshot_lines.LineIndex | None = None,
               ) -> tuple[FileReport, pd.Series, list[int]]:
    """Parse, validate and stage one file; return its report, the keys it mentioned and the staged lines
    that a later line of the same record supersedes (see :func:`_merge_into_core`).

    ``standing``: the source's standing records as the file finds them (read here when not given).
    ``compare_lines``: the file is a snapshot's only file; its lines are compared with ``previous``, the
    index of the source's latest snapshot, and only the lines not there are parsed and validated
    (:mod:`ridni.ingest.snapshot_lines`); tonight's index is kept for the next snapshot.
    """
    load_id = _start_load(conn, drop, f, dag_run_id)
    label = drops.file_label(f.name, contract.file_pattern)  # what reasons may call the file
    with drops.open_archived(f.archive_uri) as fh, timing.stage("parse"):
        data = file_bytes(fh, label)
        lines = snapshot_lines.cut(contract, data) if compare_lines else None
        parsed, same, at = _parse_changed_lines(contract, data, label, lines, previous)
    timing.add_rows("parse", len(parsed.rows))
    rows = parsed.rows
    problems = parsed.problems
    unchanged = int(same.sum())
    if contract.cadence == "delta":
        rows = _in_application_order(rows)
        problems = problems + _register_problems(conn, drop, rows)
    outcome = validate(
        contract, rows, extract_date=drop.night, manifest_rows=declared_rows,
        # only a full snapshot's size is comparable night to night (deltas and events vary by nature)
        previous_rows=_previous_rows(conn, drop.source_id, drop.night) if contract.cadence == "snapshot" else None,
        problems=problems, max_bad_row_share=max_bad_share, max_volume_change=max_volume_change,
        file_name=label, rows_unchanged=unchanged,
    )
    conn.execute(
        sa.text(
            "INSERT INTO audit.validation (load_id, source_id, extract_date, file_name, suite, success, "
            "rows_evaluated, rows_failed, summary, dag_run_id) VALUES (:l, :s, :n, :f, :suite, :ok, :ev, :bad, "
            "CAST(:summary AS jsonb), :run)"
        ),
        {"l": load_id, "s": drop.source_id, "n": drop.night, "f": label, "suite": outcome.suite_name,
         "ok": outcome.success, "ev": len(rows), "bad": len(outcome.row_failures),
         "summary": json.dumps(outcome.summary, default=str), "run": dag_run_id},
    )
    if outcome.drop_failures:
        raise drops.DropRejected("; ".join(outcome.drop_failures), label)

    rows = rows.assign(quality_flags=quality_flags(rows["line_no"], outcome.row_flags))
    failed = rows["line_no"].isin(list(outcome.row_failures))
    if failed.any():
        good, bad = _staging_frame(rows[~failed], load_id), rows[failed]
    else:  # the usual file: no copy of every row to select them all
        good, bad = _staging_frame(rows, load_id), rows.iloc[:0]
    staged = _news(standing if standing is not None else _standing(conn, drop.source_id), good)
    copy_frame(conn, "staging.record", STAGING_COLUMNS, staged)
    if not bad.empty:
        quarantined = pd.DataFrame({
            "load_id": load_id,
            "source_id": drop.source_id,
            "file_name": f.name,
            "sha256": f.sha256,
            "line_no": bad["line_no"].to_numpy(),
            "reasons": [
                "{" + ",".join(json.dumps(r, ensure_ascii=False) for r in outcome.row_failures[n]) + "}"
                for n in bad["line_no"]
            ],
            "record": bad.drop(columns=["line_no"]).to_json(orient="records", lines=True, force_ascii=False,
                                                              date_format="iso").splitlines(),
        })
        copy_frame(conn, "quarantine.rejected_row",
              ["load_id", "source_id", "file_name", "sha256", "line_no", "reasons", "record"], quarantined)
    report = FileReport(f.name, "loaded", len(rows) + unchanged, len(good) + unchanged, len(bad), load_id)
    _finish_load(conn, load_id, report)
    seen = rows["record_key"].dropna().astype(str)
    if unchanged:
        seen = pd.concat([seen, pd.Series(previous.keys.take(at[same]).to_pandas(), dtype="str")],
                         ignore_index=True)
    if compare_lines:
        _keep_line_index(conn, contract, load_id, f.sha256, lines, same, at, previous, good)
    return report, seen, _superseded(staged)


def _parse_changed_lines(contract: Contract, data: bytes, label: str, lines: snapshot_lines.Lines | None,
                         previous: snapshot_lines.LineIndex | None):
    """The file parsed, less the lines ``previous`` holds (``lines`` None: the whole file); returns the parse
    (rows and problems numbered by the file's lines), which lines were left out (a boolean per line of
    ``lines``) and where each is in ``previous``."""
    if lines is None:
        return parse_file(contract, data, label), np.zeros(0, dtype=bool), np.zeros(0, dtype=np.int64)
    same, at = lines.unchanged(previous)
    if len(same) and same.all():  # the same lines in another order: parse one, so the file has a parse
        same[0] = False
    for _ in range(2):
        if not same.any():
            return parse_file(contract, data, label), same, at
        body, line_of = lines.changed_body(~same)
        parsed = _parse_numbered(contract, body, label, line_of)
        # a changed line with an unchanged line's key: parse that one too, so the key's uniqueness is checked
        keys = parsed.rows["record_key"].dropna()
        clash = pc.is_in(previous.keys.take(at[same]), value_set=_arrow_text(keys)).to_numpy(zero_copy_only=False)
        if not clash.any():
            return parsed, same, at
        same[np.flatnonzero(same)[clash]] = False
    raise AssertionError("unreachable: a second pass adds no key")


def _parse_numbered(contract: Contract, body: bytes, label: str, line_of: np.ndarray):
    """Parse ``body`` (some of a file's lines) and number its rows, problems and refusals by the file's lines
    (``line_of``: the file's line number of each line of ``body``)."""
    try:
        parsed = parse_file(contract, body, label)
    except FileRejected as exc:
        if exc.line_no is None:
            raise
        raise FileRejected(exc.what, exc.file_name, int(line_of[min(exc.line_no, len(line_of)) - 1])) from None
    parsed.rows["line_no"] = line_of[parsed.rows["line_no"].to_numpy() - 1]
    parsed.problems = sorted((Problem(int(line_of[p.line_no - 1]), p.field, p.reason) for p in parsed.problems),
                             key=lambda p: (p.line_no, p.field))
    return parsed


def _keep_line_index(conn: Connection, contract: Contract, load_id: int, sha256: str,
                     lines: snapshot_lines.Lines | None, same: np.ndarray, at: np.ndarray,
                     previous: snapshot_lines.LineIndex | None, good: pd.DataFrame) -> None:
    """Tonight's clean lines, the unchanged and the changed that loaded, as the next snapshot's index."""
    if lines is None:
        snapshot_lines.save_index(conn, contract, load_id, sha256, None)
        return
    positions = [np.flatnonzero(same), good["line_no"].to_numpy(dtype=np.int64) - lines.first_line]
    keys = [previous.keys.take(at[same]) if same.any() else pa.array([], pa.string()),
            _arrow_text(good["record_key"])]
    position = np.concatenate(positions)
    order = np.argsort(position, kind="stable")
    clean = np.zeros(len(lines.lines), dtype=bool)
    clean[position] = True
    snapshot_lines.save_index(conn, contract, load_id, sha256, lines, clean,
                              pa.concat_arrays([k.cast(pa.string()) for k in keys]).take(pa.array(order)))


def _load_files_together(conn: Connection, contract: Contract, drop: drops.Drop, files: list[drops.ArchivedFile],
                         declared: dict[str, int | None], max_bad_share: float, dag_run_id: str | None,
                         standing: pd.DataFrame) -> list[FileReport]:
    """Parse, validate, stage and merge the files of an event drop together: one GX run over one batch of
    every file's rows, one COPY into staging (and one into quarantine), in the drop's one transaction.

    A drop of many event files (a source's first night: its backlog; a catch-up after an outage) costs a
    GX run, a COPY and their bookkeeping once instead of once per file. Each file keeps its own
    ``staging.load`` row and counts, the key is unique within each file, every quarantined row names its
    file and line, and each file is judged on its own: a file with another row count than its manifest's,
    or with more bad rows than ``max_bad_share`` (from :data:`~ridni.ingest.validate.MIN_ROWS_FOR_SHARE`
    rows up), refuses the drop, named in the reason. The records merge into core file by file, in the
    drop's file order, as if each file had been loaded after the one before.
    """
    from ridni.ingest.validate import MIN_ROWS_FOR_SHARE

    load_ids, labels, read = [], [], []
    for f in files:
        load_ids.append(_start_load(conn, drop, f, dag_run_id))
        labels.append(drops.file_label(f.name, contract.file_pattern))
        with drops.open_archived(f.archive_uri) as fh, timing.stage("parse"):
            read.append(read_file(contract, fh, labels[-1]))  # raises FileRejected for a broken file
    with timing.stage("parse"):
        parsed = parse_batch(contract, read)
    timing.add_rows("parse", len(parsed.rows))
    rows, problems, counts = parsed.rows, parsed.problems, parsed.rows_per_file
    # GX names a failed row by its batch number (the file's own line is not unique in the batch)
    batch = rows.drop(columns=["line_no"]).rename(columns={BATCH_ROW: "line_no"})
    # each file's row count and share of bad rows are judged below, file by file
    outcome = validate(contract, batch, extract_date=drop.night, problems=problems, max_bad_row_share=1.0,
                       file_column=FILE_NO, file_name=None)

    failed_rows = np.zeros(len(files), dtype=np.int64)
    flagged_rows = np.zeros(len(files), dtype=np.int64)
    np.add.at(failed_rows, parsed.file_of(list(outcome.row_failures)), 1)
    np.add.at(flagged_rows, parsed.file_of(list(outcome.row_flags)), 1)
    failures = []
    for i, f in enumerate(files):
        wanted = declared.get(f.name)
        if wanted is not None and counts[i] != wanted:
            failures.append((labels[i], f"{labels[i]}: row count {counts[i]} differs from the manifest's {wanted}"))
        share = failed_rows[i] / counts[i] if counts[i] else 0.0
        if share > max_bad_share and counts[i] >= MIN_ROWS_FOR_SHARE:
            failures.append((labels[i], f"{labels[i]}: {failed_rows[i]} of {counts[i]} rows ({share:.1%}) failed "
                                        f"validation, over the {max_bad_share:.0%} threshold"))
    drop_failures = outcome.drop_failures  # an expectation that could not be evaluated
    reasons = drop_failures + [reason for _, reason in failures]
    summary = dict(outcome.summary)
    summary.update({
        "success": not reasons and not outcome.row_failures, "drop_failures": reasons,
        "max_bad_row_share": max_bad_share, "file_name": None,
        "manifest_rows": sum(declared.get(f.name) or 0 for f in files),
        "files": [{"file_name": labels[i], "rows": counts[i], "rows_failed": int(failed_rows[i]),
                   "rows_flagged": int(flagged_rows[i])} for i in range(len(files))],
    })
    conn.execute(
        sa.text(
            "INSERT INTO audit.validation (load_id, source_id, extract_date, file_name, suite, success, "
            "rows_evaluated, rows_failed, summary, dag_run_id) VALUES (:l, :s, :n, :f, :suite, :ok, :ev, :bad, "
            "CAST(:summary AS jsonb), :run)"
        ),
        {"l": load_ids[0] if len(files) == 1 else None, "s": drop.source_id, "n": drop.night,
         "f": labels[0] if len(files) == 1 else None, "suite": outcome.suite_name, "ok": summary["success"],
         "ev": len(rows), "bad": len(outcome.row_failures), "summary": json.dumps(summary, default=str),
         "run": dag_run_id},
    )
    if reasons:
        raise drops.DropRejected("; ".join(reasons), failures[0][0] if failures and not drop_failures else None)

    flags = quality_flags(batch["line_no"], outcome.row_flags)
    rows = rows.assign(quality_flags=flags)
    failed = batch["line_no"].isin(list(outcome.row_failures)).to_numpy()
    load_of = np.asarray(load_ids, dtype=np.int64)[rows[FILE_NO].to_numpy()]
    good = _staging_frame(rows[~failed].drop(columns=[BATCH_ROW]), pd.Series(load_of[~failed],
                                                                           index=rows.index[~failed]))
    staged = _news_in_file_order(standing, good)
    copy_frame(conn, "staging.record", STAGING_COLUMNS, staged)
    bad = rows[failed]
    if not bad.empty:
        quarantined = pd.DataFrame({
            "load_id": load_of[failed],
            "source_id": drop.source_id,
            "file_name": [files[i].name for i in bad[FILE_NO]],
            "sha256": [files[i].sha256 for i in bad[FILE_NO]],
            "line_no": bad["line_no"].to_numpy(),
            "reasons": [
                "{" + ",".join(json.dumps(r, ensure_ascii=False) for r in outcome.row_failures[n]) + "}"
                for n in bad[BATCH_ROW]
            ],
            "record": bad.drop(columns=["line_no", FILE_NO, BATCH_ROW]).to_json(
                orient="records", lines=True, force_ascii=False, date_format="iso").splitlines(),
        })
        copy_frame(conn, "quarantine.rejected_row",
                   ["load_id", "source_id", "file_name", "sha256", "line_no", "reasons", "record"], quarantined)
    reports = []
    quarantined_rows = np.bincount(rows[FILE_NO].to_numpy()[failed], minlength=len(files))
    for i, f in enumerate(files):
        report = FileReport(f.name, "loaded", counts[i], counts[i] - int(quarantined_rows[i]),
                            int(quarantined_rows[i]), load_ids[i])
        _finish_load(conn, load_ids[i], report)
        reports.append(report)
    with_rows = set(staged["load_id"].tolist())
    for load_id in load_ids:
        if load_id in with_rows:
            _merge_into_core(conn, drop.source_id, drop.night, load_id, [])
    return reports


def _news_in_file_order(standing: pd.DataFrame, good: pd.DataFrame) -> pd.DataFrame:
    """:func:`_news` of each file of a batch as if the files were loaded one after another: a record's last
    line in each file, when it differs from the record as the files before left it (or as it stands)."""
    last = ~good.duplicated([FILE_NO, "record_key"], keep="last").to_numpy()
    kept = good[last]
    earlier = kept.groupby("record_key", sort=False)["row_hash"].shift(1)
    if not standing.empty:
        at = pc.index_in(_arrow_text(kept["record_key"]), value_set=_arrow_text(standing["record_key"]))
        before = pd.Series(pc.take(_arrow_text(standing["row_hash"]), at).to_numpy(zero_copy_only=False),
                           index=kept.index)
        earlier = earlier.fillna(before)
    same = (earlier.astype(object) == kept["row_hash"].astype(object)).to_numpy()
    return kept[~same].drop(columns=[FILE_NO])


def _superseded(staged: pd.DataFrame) -> list[int]:
    """Line numbers of staged rows whose record has a later row in the order the file applies (the merge
    keeps the last): line order, or for a register delta ``changed_at`` order, ties by line."""
    lines = staged["line_no"].to_numpy()
    if "changed_at" in staged and staged["changed_at"].notna().any():
        order = np.lexsort((lines, _moments(staged["changed_at"])))
    else:
        order = lines.argsort(kind="stable")
    earlier = pd.Series(staged["record_key"].to_numpy()[order]).duplicated(keep="last").to_numpy()
    return np.sort(lines[order][earlier]).tolist()


def _moments(changed_at: pd.Series) -> np.ndarray:
    """Moments as comparable integers (microseconds since the epoch, UTC), a missing one first."""
    stamps = pd.to_datetime(changed_at, utc=True).dt.tz_localize(None)
    return stamps.to_numpy(dtype="datetime64[us]").view("int64")  # NaT is the smallest int64


def _in_application_order(rows: pd.DataFrame) -> pd.DataFrame:
    """A register delta's rows in the order their changes apply: ``changed_at`` (the contract's local time,
    read as a moment by the parser), ties by line; one delta may change an entry twice, in any file order."""
    order = np.lexsort((rows["line_no"].to_numpy(), _moments(rows["changed_at"])))
    if (order == np.arange(len(rows))).all():
        return rows
    return rows.iloc[order].reset_index(drop=True)


def _register_problems(conn: Connection, drop: drops.Drop, rows: pd.DataFrame) -> list[Problem]:
    """Rows of a register delta that cannot apply: an update (``U``) or withdrawal (``D``) of an entry the
    register never inserted (in the warehouse, or earlier in this delta). Each is quarantined with its
    reason; the rest of the delta applies."""
    if rows.empty:
        return []
    keys = rows["record_key"].astype("str")
    known = read_text_frame(conn, "SELECT record_key FROM core.source_record WHERE source_id = %(s)s",
                            {"s": drop.source_id})
    in_core = pc.is_in(_arrow_text(keys.fillna("")), value_set=_arrow_text(known["record_key"]) if not known.empty
                       else pa.array([], pa.string())).to_numpy(zero_copy_only=False)
    position = np.arange(len(rows))
    inserts = pd.Series(np.where(rows["op"].eq("I").fillna(False).to_numpy(), position, len(rows)))
    first_insert = inserts.groupby(keys.to_numpy()).transform("min").to_numpy()
    orphan = rows["op"].isin(["U", "D"]).fillna(False).to_numpy() & ~in_core & (first_insert > position)
    return [Problem(int(n), "op", f"{op} for a register entry never inserted")
            for n, op in zip(rows["line_no"].to_numpy()[orphan], rows["op"].to_numpy()[orphan], strict=True)]


_MERGED = CANONICAL_FIELDS + ["attributes", "row_hash", "quality_flags"]
_MERGE_COLUMNS = ", ".join(_MERGED)
_MERGE_SET = ", ".join(f"{c} = excluded.{c}" for c in _MERGED)


@timing.timed("load/merge_into_core")
def _merge_into_core(conn: Connection, source_id: str, night: dt.date, load_id: int,
                     superseded: list[int]) -> None:
    """Upsert the load's rows into ``core.source_record``, versioning every change (set-based).

    Each record takes the last line the load staged for it. ``superseded``: the staged lines that are
    not their record's last (:func:`_superseded`, from the frame that was staged); leaving them out by
    an anti-join reads the last lines without sorting the whole load, which on a first night is a sort
    of every row (a hash join at any length of the list, where ``<> ALL`` would compare every pair).
    """
    params = {"src": source_id, "night": night, "l": load_id, "superseded": superseded}
    latest = ("SELECT s.* FROM staging.record s WHERE s.load_id = :l AND NOT EXISTS "
              "(SELECT FROM unnest(CAST(:superseded AS integer[])) x(line_no) WHERE x.line_no = s.line_no)")
    conn.execute(sa.text(f"""
        INSERT INTO core.source_record_version (source_id, record_key, valid_from, load_id, change, {_MERGE_COLUMNS})
        SELECT :src, s.record_key, :night, :l,
               CASE WHEN s.op = 'D' THEN 'withdrawn'
                    WHEN c.record_key IS NULL THEN 'new'
                    WHEN c.withdrawn_on IS NOT NULL THEN 'reinstated'
                    ELSE 'changed' END,
               {", ".join("s." + c for c in _MERGED)}
        FROM ({latest}) s
        -- each staged record's standing row by primary key: OFFSET 0 keeps the planner from turning this
        -- into a scan of all the source's records, its choice whenever the statistics undercount them
        LEFT JOIN LATERAL (SELECT c.record_key, c.row_hash, c.withdrawn_on FROM core.source_record c
                           WHERE c.source_id = :src AND c.record_key = s.record_key OFFSET 0) c ON true
        WHERE c.record_key IS NULL OR c.row_hash <> s.row_hash
           OR (c.withdrawn_on IS NOT NULL AND s.op IS DISTINCT FROM 'D')
    """), params)  # noqa: S608 (only our own column names)
    conn.execute(sa.text(f"""
        INSERT INTO core.source_record AS c (source_id, record_key, {_MERGE_COLUMNS},
                                             first_seen_on, last_seen_on, withdrawn_on, withdrawn_reason, last_load_id)
        SELECT :src, s.record_key, {_MERGE_COLUMNS}, :night, :night,
               CASE WHEN s.op = 'D' THEN CAST(:night AS date) END,
               CASE WHEN s.op = 'D' THEN 'withdrawn by the source (op=D)' END, :l
        FROM ({latest}) s
        ON CONFLICT (source_id, record_key) DO UPDATE SET {_MERGE_SET},
            last_seen_on = excluded.last_seen_on,
            withdrawn_on = excluded.withdrawn_on,
            withdrawn_reason = excluded.withdrawn_reason,
            last_load_id = excluded.last_load_id
    """), params)  # noqa: S608


def _absent_keys(standing_before: pd.DataFrame, seen_keys: pd.Series) -> pd.Series:
    """The standing records (when the drop began) that none of the drop's files mentioned."""
    standing = standing_before["record_key"]
    if standing.empty:
        return standing
    seen = pc.is_in(_arrow_text(standing), value_set=_arrow_text(seen_keys))
    return standing[~seen.to_numpy(zero_copy_only=False)]


@timing.timed("load/withdraw_absent")
def _withdraw_absent(conn: Connection, contract: Contract, drop: drops.Drop, load_id: int, seen_keys: pd.Series,
                     standing_before: pd.DataFrame) -> tuple[int, int]:
    """Full snapshots: a record absent from tonight's snapshot is withdrawn (kept, never deleted); returns
    (withdrawn, held).

    More than the contract's share of the standing records (and more than ``MIN_WITHDRAWALS_HELD``) is
    likelier an export cut short than a night's news: those withdrawals are held, with an alert, until an
    operator confirms them. Either way this snapshot supersedes a hold still pending from an earlier one.
    """
    absent = _absent_keys(standing_before, seen_keys)
    conn.execute(sa.text("UPDATE core.withdrawal_hold SET status = 'superseded', decided_at = now(), "
                         "decided_by = 'a later snapshot' WHERE source_id = :s AND status = 'held'"),
                 {"s": drop.source_id})
    standing = len(standing_before)
    if len(absent) <= max(MIN_WITHDRAWALS_HELD, contract.max_withdrawal_share * standing):
        return _withdraw(conn, drop.source_id, drop.night, load_id, absent), 0
    hold_id = conn.execute(sa.text(
        "INSERT INTO core.withdrawal_hold (source_id, extract_date, drop_id, load_id, standing, records, max_share) "
        "VALUES (:s, :n, :d, :l, :standing, :records, :share) RETURNING hold_id"),
        {"s": drop.source_id, "n": drop.night, "d": drop.drop_id, "l": load_id, "standing": standing,
         "records": len(absent), "share": contract.max_withdrawal_share}).scalar_one()
    copy_frame(conn, "core.withdrawal_hold_key", ["hold_id", "record_key"],
               pd.DataFrame({"hold_id": hold_id, "record_key": absent.astype(str).to_numpy()}))
    raise_alert(conn, Alert(
        kind="withdrawals_held", severity="error",
        message=f"the snapshot leaves out {len(absent)} of {standing} standing records "
                f"({len(absent) / standing:.1%}, above the contract's {contract.max_withdrawal_share:.0%}): "
                f"an export cut short? The rest of the night is loaded; the withdrawals are held until an "
                f"operator confirms them (ridni confirm-withdrawals --source {drop.source_id} --night "
                f"{drop.night.isoformat()}, or the ingest DAG's param confirm_withdrawals)",
        source_id=drop.source_id, extract_date=drop.night, rows_affected=len(absent),
        quarantine_ref=f"core.withdrawal_hold hold_id={hold_id}",
    ))
    return 0, len(absent)


def confirm_withdrawals(engine: Engine, source_id: str, night: dt.date | None = None, *,
                        confirmed_by: str = "operator") -> int:
    """Apply the withdrawals held for ``source_id`` (of ``night``, when given); returns how many were applied.

    The records are withdrawn as of the night of the snapshot that left them out. A hold that a later
    snapshot superseded cannot be confirmed (that snapshot decided).
    """
    with engine.begin() as conn:
        hold = conn.execute(sa.text(
            "SELECT hold_id, extract_date, load_id FROM core.withdrawal_hold WHERE source_id = :s "
            "AND status = 'held' AND (CAST(:n AS date) IS NULL OR extract_date = :n) FOR UPDATE"),
            {"s": source_id, "n": night}).first()
        if hold is None:
            return 0
        drops.lock(conn, source_id, hold.extract_date)
        keys = read_text_frame(conn, "SELECT record_key FROM core.withdrawal_hold_key WHERE hold_id = %(h)s",
                               {"h": hold.hold_id})["record_key"]
        withdrawn = _withdraw(conn, source_id, hold.extract_date, hold.load_id, keys)
        conn.execute(sa.text("UPDATE core.withdrawal_hold SET status = 'confirmed', decided_at = now(), "
                             "decided_by = :by WHERE hold_id = :h"), {"h": hold.hold_id, "by": confirmed_by})
        raise_alert(conn, Alert(
            kind="withdrawals_confirmed", severity="info",
            message=f"an operator confirmed the held withdrawals: {withdrawn} record(s) withdrawn as of "
                    f"{hold.extract_date.isoformat()}",
            source_id=source_id, extract_date=hold.extract_date, rows_affected=withdrawn,
            quarantine_ref=f"core.withdrawal_hold hold_id={hold.hold_id}",
        ))
    return withdrawn


def _withdraw(conn: Connection, source_id: str, night: dt.date, load_id: int, absent: pd.Series) -> int:
    """Withdraw the given standing records of the source, each with a 'withdrawn' version."""
    if absent.empty:
        return 0
    # the absent keys by COPY into a temporary table (with the list inline, or = ANY, the planner scanned
    # the source's records once per key when its statistics undercounted them after a bulk load)
    conn.execute(sa.text("CREATE TEMPORARY TABLE IF NOT EXISTS absent_key (record_key text PRIMARY KEY) "
                         "ON COMMIT DROP"))
    conn.execute(sa.text("TRUNCATE absent_key"))
    copy_frame(conn, "absent_key", ["record_key"], pd.DataFrame({"record_key": absent.astype(str).to_numpy()}))
    # each key's row by primary key (LATERAL ... OFFSET 0), then updated by its row id: a plain join let
    # such a planner scan all the source's records (0.64 s instead of 6 ms for 400 keys of 380,000)
    withdrawn = conn.execute(sa.text("""
        UPDATE core.source_record c
        SET withdrawn_on = :night, withdrawn_reason = 'absent from the full snapshot', last_load_id = :l
        FROM absent_key k, LATERAL (SELECT s.ctid AS row FROM core.source_record s
                                    WHERE s.source_id = :src AND s.record_key = k.record_key OFFSET 0) t
        WHERE c.ctid = t.row AND c.withdrawn_on IS NULL
        RETURNING c.record_key
    """), {"src": source_id, "night": night, "l": load_id}).scalars().all()
    if withdrawn:
        conn.execute(sa.text(f"""
            INSERT INTO core.source_record_version (source_id, record_key, valid_from, load_id, change, {_MERGE_COLUMNS})
            SELECT c.source_id, c.record_key, :night, :l, 'withdrawn', {_MERGE_COLUMNS}
            FROM absent_key k
            JOIN LATERAL (SELECT * FROM core.source_record s WHERE s.source_id = :src AND s.record_key = k.record_key
                          OFFSET 0) c ON true
            WHERE c.withdrawn_on = :night AND c.last_load_id = :l
              AND c.withdrawn_reason = 'absent from the full snapshot'
            ON CONFLICT DO NOTHING
        """), {"src": source_id, "night": night, "l": load_id})  # noqa: S608
    return len(withdrawn)


def _latest_snapshot(conn: Connection, source_id: str) -> tuple[set[str], dt.date | None]:
    """The files (sha256) of the source's latest load, and the latest night loaded."""
    latest = conn.execute(sa.text(
        "SELECT drop_id FROM staging.load WHERE source_id = :s AND status = 'loaded' ORDER BY load_id DESC LIMIT 1"),
        {"s": source_id}).scalar()
    files = set(conn.execute(sa.text("SELECT sha256 FROM staging.load WHERE drop_id = :d AND status = 'loaded'"),
                             {"d": latest}).scalars()) if latest else set()
    night = conn.execute(sa.text("SELECT max(extract_date) FROM raw.drop WHERE source_id = :s AND status = 'loaded'"),
                         {"s": source_id}).scalar()
    return files, night


def _loaded_before(conn: Connection, sha256: str) -> int | None:
    """The load that loaded a file of this content before, if any."""
    return conn.execute(sa.text("SELECT load_id FROM staging.load WHERE sha256=:sha AND status='loaded' LIMIT 1"),
                        {"sha": sha256}).scalar()


def _delta_refusal(conn: Connection, drop: drops.Drop) -> tuple[str, str | None, drops.DropRejected | None] | None:
    """Whether a register delta may apply now: None when it may; else (the drop's status, the alert's kind,
    the refusal): ``skipped`` for a seq applied before with the same content (no alert), ``rejected`` for a
    seq that is missing or replayed with other content, ``held`` for a seq past a gap."""
    if drop.seq is None:
        found = type(drop.manifest.get("seq")).__name__ if "seq" in drop.manifest else "none"
        return "rejected", None, drops.DropRejected(
            f"manifest seq missing or not a positive integer up to {drops.MAX_SEQ} (found: {found})", drops.MANIFEST)
    last = _last_applied_seq(conn, drop.source_id)
    if last is not None and drop.seq <= last:
        applied_by = conn.execute(sa.text("SELECT drop_id FROM core.delta_applied WHERE source_id = :s AND seq = :q"),
                                  {"s": drop.source_id, "q": drop.seq}).scalar()
        before = set(conn.execute(sa.text("SELECT sha256 FROM raw.drop_file WHERE drop_id = :d"),
                                  {"d": applied_by}).scalars())
        if applied_by is None or before == {f.sha256 for f in drop.files}:
            return "skipped", None, None
        return "rejected", "seq_replayed", drops.DropRejected(
            f"seq {drop.seq} was applied before (drop {applied_by}) with other content: a replayed delta "
            "that differs is refused; the source must send its changes under the next seq", drops.MANIFEST)
    if last is not None and drop.seq != last + 1:
        return "held", "seq_gap", drops.DropRejected(
            f"register seq gap: last applied {last}, received {drop.seq}; missing {last + 1}..{drop.seq - 1}",
            drops.MANIFEST)
    return None


def load_drop(engine: Engine, contract: Contract, drop: drops.Drop, *, max_bad_row_share: float = 0.10,
              max_volume_change: float = 0.50, dag_id: str | None = None, dag_run_id: str | None = None,
              confirm_withdrawals_held: bool = False) -> DropReport:
    """Load every file of a verified drop; a repeat of a loaded drop changes nothing.

    ``confirm_withdrawals_held``: an operator's confirmation of the withdrawals this drop's snapshot held.
    """
    try:
        with engine.begin() as conn:
            report = _load_locked(conn, contract, drop, max_bad_row_share, max_volume_change, dag_id, dag_run_id)
    except (drops.DropRejected, FileRejected) as exc:
        with engine.begin() as conn:  # the drop's transaction rolled back; record why, in a new one
            return reject_drop(conn, drop, exc, dag_id=dag_id, dag_run_id=dag_run_id)
    if confirm_withdrawals_held and report.status in ("loaded", "skipped"):
        report.withdrawn += confirm_withdrawals(engine, drop.source_id, drop.night,
                                                confirmed_by=f"run {dag_run_id}" if dag_run_id else "operator")
        report.withdrawals_held = 0
    return report


def _load_locked(conn: Connection, contract: Contract, drop: drops.Drop, max_bad_row_share: float,
                 max_volume_change: float, dag_id: str | None, dag_run_id: str | None) -> DropReport:
    report = DropReport(drop.source_id, drop.night, "loaded")
    drops.lock(conn, drop.source_id, drop.night)
    status = conn.execute(sa.text("SELECT status FROM raw.drop WHERE drop_id = :d"), {"d": drop.drop_id}).scalar()
    if status == "loaded":  # loaded already (by this task's earlier try, or a concurrent ingest)
        report.status = "skipped"
        return report
    if contract.cadence == "delta":
        refusal = _delta_refusal(conn, drop)
        if refusal:
            status, kind, exc = refusal
            if status == "skipped":
                conn.execute(sa.text("UPDATE raw.drop SET status='loaded', reason=:r, finished_at=now() "
                                     "WHERE drop_id=:d"), {"r": f"seq {drop.seq} already applied", "d": drop.drop_id})
                report.status, report.reason = "skipped", f"seq {drop.seq} already applied"
                return report
            return reject_drop(conn, drop, exc, status=status, kind=kind, dag_id=dag_id, dag_run_id=dag_run_id)

    declared = {f["name"]: f.get("rows") for f in drop.manifest.get("files", [])}
    files = sorted(drop.files, key=lambda f: f.name)
    unchanged: set[str] = set()
    compare_lines, previous = False, None
    if contract.cadence == "snapshot":
        latest_files, latest_night = _latest_snapshot(conn, drop.source_id)
        if latest_night is not None and drop.night < latest_night:
            raise drops.DropRejected(
                f"a snapshot of {drop.night.isoformat()} arrived after the snapshot of {latest_night.isoformat()} "
                "was loaded: loading it would take the source back in time", drops.MANIFEST)
        if {f.sha256 for f in files} == latest_files:  # the source's latest state again: nothing changed
            unchanged = latest_files
        elif len(files) == 1:  # compared line by line with the latest snapshot, when it has an index
            compare_lines, previous = True, snapshot_lines.load_index(conn, contract, latest_files)
    load_ids: list[int] = []
    seen: list[pd.Series] = []
    standing_before = _standing(conn, drop.source_id)
    standing: pd.DataFrame | None = standing_before  # a later file re-reads what the earlier ones left
    if contract.cadence == "event":
        together = []
        for f in files:
            done = _loaded_before(conn, f.sha256)
            if done or f.sha256 in {g.sha256 for g in together}:
                report.files.append(FileReport(f.name, "skipped_duplicate", load_id=done,
                                               reason=f"content already loaded (load {done})" if done else
                                               "content already in this drop"))
            else:
                together.append(f)
        if together:
            report.files += _load_files_together(conn, contract, drop, together, declared, max_bad_row_share,
                                                 dag_run_id, standing_before)
            load_ids = [r.load_id for r in report.files if r.status == "loaded"]
        files = []
    for f in files:
        done = None if contract.cadence == "snapshot" else _loaded_before(conn, f.sha256)
        if f.sha256 in unchanged or done:
            report.files.append(FileReport(f.name, "skipped_duplicate", load_id=done,
                                           reason="the source's latest state, loaded before" if not done else
                                           f"content already loaded (load {done})"))
            continue
        file_report, keys, superseded = _load_file(conn, contract, drop, f, declared.get(f.name),
                                                   max_bad_row_share, max_volume_change, dag_run_id, standing,
                                                   compare_lines=compare_lines, previous=previous)
        standing = None
        report.files.append(file_report)
        load_ids.append(file_report.load_id)
        seen.append(keys)
        _merge_into_core(conn, drop.source_id, drop.night, file_report.load_id, superseded)
    if contract.cadence == "snapshot" and load_ids:
        if not compare_lines:  # a snapshot of several files: no index describes it
            snapshot_lines.save_index(conn, contract, load_ids[-1], files[-1].sha256, None)
        report.withdrawn, report.withdrawals_held = _withdraw_absent(
            conn, contract, drop, load_ids[-1], pd.concat(seen, ignore_index=True), standing_before)
    if contract.cadence == "delta":
        conn.execute(sa.text("INSERT INTO core.delta_applied (source_id, seq, drop_id) VALUES (:s, :q, :d)"),
                     {"s": drop.source_id, "q": drop.seq, "d": drop.drop_id})
    conn.execute(sa.text("UPDATE raw.drop SET status='loaded', finished_at=now() WHERE drop_id=:d"),
                 {"d": drop.drop_id})
    if report.rows_quarantined:
        raise_alert(conn, Alert(
            kind="rows_quarantined", severity="warning",
            message=f"{report.rows_quarantined} row(s) failed validation and were quarantined; "
                    f"{report.rows_loaded} loaded",
            source_id=drop.source_id, extract_date=drop.night, rows_affected=report.rows_quarantined,
            quarantine_ref=f"quarantine.rejected_row load_id in {load_ids}",
            dag_id=dag_id, dag_run_id=dag_run_id,
        ))
    return report
