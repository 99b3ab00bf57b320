"""Loading a verified drop: parse, validate, COPY into staging, quarantine, merge into core.

Each file is loaded in one transaction: a task killed midway leaves nothing
behind, and its retry starts clean. A file whose content (sha256) was loaded
before, under any name, is not loaded again. Received = loaded + quarantined,
always; the database enforces it on ``staging.load``.
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

from ridni.alerts import Alert, raise_alert
from ridni.contracts import Contract
from ridni.db import copy_frame, read_text_frame
from ridni.ingest import drops
from ridni.ingest.parse import FileRejected, parse_file
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
                status: str = "rejected", dag_id: str | None = None, dag_run_id: str | None = None) -> DropReport:
    """Record a refused drop: ``raw.drop`` status, a quarantine row naming file and line, an alert."""
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
        sa.text("UPDATE raw.drop SET status=:st, reason=:r, finished_at=now() WHERE drop_id=:d"),
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
        kind="seq_gap" if status == "held" else "drop_rejected",
        severity="error",
        message=f"drop {status}, nothing loaded ({where}): {reason}",
        source_id=drop.source_id, extract_date=drop.night,
        quarantine_ref=f"quarantine.rejected_drop id={qid}; archived drop_id={drop.drop_id}",
        dag_id=dag_id, dag_run_id=dag_run_id,
    ))
    return DropReport(drop.source_id, drop.night, status, reason=reason)


def _previous_rows(conn: Connection, source_id: str, night: dt.date) -> int | None:
    return conn.execute(
        sa.text(
            "SELECT rows_received FROM staging.load WHERE source_id=:s AND extract_date<:n AND status='loaded' "
            "ORDER BY extract_date DESC, load_id DESC LIMIT 1"
        ),
        {"s": source_id, "n": night},
    ).scalar()


def _load_file(conn: Connection, contract: Contract, drop: drops.Drop, f: drops.ArchivedFile,
               declared_rows: int | None, max_bad_share: float, max_volume_change: float,
               dag_run_id: str | None, standing: pd.DataFrame | None = None,
               ) -> tuple[FileReport, pd.Series, list[int]]:
    """Parse, validate and stage one file; return its report, the keys it mentioned and the staged lines
    that a later line of the same record supersedes (see :func:`_merge_into_core`).

    ``standing``: the source's standing records as the file finds them (read here when not given).
    """
    load_id = _start_load(conn, drop, f, dag_run_id)
    with drops.open_archived(f.archive_uri) as fh:
        parsed = parse_file(contract, fh, f.name)  # raises FileRejected for a broken file
    rows = parsed.rows
    outcome = validate(
        contract, rows, extract_date=drop.night, manifest_rows=declared_rows,
        # only a full snapshot's size is comparable night to night (deltas and events vary by nature)
        previous_rows=_previous_rows(conn, drop.source_id, drop.night) if contract.cadence == "snapshot" else None,
        problems=parsed.problems, max_bad_row_share=max_bad_share, max_volume_change=max_volume_change,
        file_name=f.name,
    )
    conn.execute(
        sa.text(
            "INSERT INTO audit.validation (load_id, source_id, extract_date, file_name, suite, success, "
            "rows_evaluated, rows_failed, summary, dag_run_id) VALUES (:l, :s, :n, :f, :suite, :ok, :ev, :bad, "
            "CAST(:summary AS jsonb), :run)"
        ),
        {"l": load_id, "s": drop.source_id, "n": drop.night, "f": f.name, "suite": outcome.suite_name,
         "ok": outcome.success, "ev": len(rows), "bad": len(outcome.row_failures),
         "summary": json.dumps(outcome.summary, default=str), "run": dag_run_id},
    )
    if outcome.drop_failures:
        raise drops.DropRejected("; ".join(outcome.drop_failures), f.name)

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
    report = FileReport(f.name, "loaded", len(rows), len(good), len(bad), load_id)
    _finish_load(conn, load_id, report)
    seen = rows["record_key"].dropna().astype(str)
    return report, seen, _superseded(staged)


def _superseded(staged: pd.DataFrame) -> list[int]:
    """Line numbers of staged rows whose record has a later line in the file (the merge keeps the last)."""
    lines = staged["line_no"].to_numpy()
    order = lines.argsort(kind="stable")
    earlier = pd.Series(staged["record_key"].to_numpy()[order]).duplicated(keep="last").to_numpy()
    return np.sort(lines[order][earlier]).tolist()


_MERGED = CANONICAL_FIELDS + ["attributes", "row_hash", "quality_flags"]
_MERGE_COLUMNS = ", ".join(_MERGED)
_MERGE_SET = ", ".join(f"{c} = excluded.{c}" for c in _MERGED)


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


def _withdraw_absent(conn: Connection, source_id: str, night: dt.date, load_id: int,
                     seen_keys: pd.Series, standing_before: pd.DataFrame) -> int:
    """Full snapshots: a record absent from tonight's snapshot is withdrawn (kept, never deleted).

    ``standing_before``: the records standing when the drop began; those not seen tonight (``seen_keys``:
    every key the drop's files mentioned) are absent.
    """
    standing = standing_before["record_key"]
    if standing.empty:
        return 0
    seen = pc.is_in(_arrow_text(standing), value_set=_arrow_text(seen_keys))
    return _withdraw(conn, source_id, night, load_id, standing[~seen.to_numpy(zero_copy_only=False)])


def _withdraw(conn: Connection, source_id: str, night: dt.date, load_id: int, absent: pd.Series) -> int:
    """Withdraw the given standing records of the source, each with a 'withdrawn' version."""
    if absent.empty:
        return 0
    # the absent keys by COPY into a table without statistics: the planner then looks each one up by
    # primary key (with the list inline, or = ANY, it scanned the source's records once per key when its
    # statistics undercounted them after a bulk load: 6.7 s instead of 0.2 s for 433 keys of 385,000)
    conn.execute(sa.text("CREATE TEMPORARY TABLE IF NOT EXISTS absent_key (record_key text PRIMARY KEY) "
                         "ON COMMIT DROP"))
    conn.execute(sa.text("TRUNCATE absent_key"))
    copy_frame(conn, "absent_key", ["record_key"], pd.DataFrame({"record_key": absent.astype(str).to_numpy()}))
    withdrawn = conn.execute(sa.text("""
        UPDATE core.source_record c
        SET withdrawn_on = :night, withdrawn_reason = 'absent from the full snapshot', last_load_id = :l
        FROM absent_key k
        WHERE c.source_id = :src AND c.record_key = k.record_key AND c.withdrawn_on IS NULL
        RETURNING c.record_key
    """), {"src": source_id, "night": night, "l": load_id}).scalars().all()
    if withdrawn:
        conn.execute(sa.text(f"""
            INSERT INTO core.source_record_version (source_id, record_key, valid_from, load_id, change, {_MERGE_COLUMNS})
            SELECT c.source_id, c.record_key, :night, :l, 'withdrawn', {_MERGE_COLUMNS}
            FROM absent_key k
            JOIN core.source_record c ON c.source_id = :src AND c.record_key = k.record_key
            WHERE c.withdrawn_on = :night AND c.last_load_id = :l
              AND c.withdrawn_reason = 'absent from the full snapshot'
            ON CONFLICT DO NOTHING
        """), {"src": source_id, "night": night, "l": load_id})  # noqa: S608
    return len(withdrawn)


def load_drop(engine: Engine, contract: Contract, drop: drops.Drop, *, max_bad_row_share: float = 0.10,
              max_volume_change: float = 0.50, dag_id: str | None = None,
              dag_run_id: str | None = None) -> DropReport:
    """Load every file of a verified drop; a repeat of a loaded drop changes nothing."""
    report = DropReport(drop.source_id, drop.night, "loaded")
    if drop.status == "loaded":
        report.status = "skipped"
        return report
    with engine.begin() as conn:
        if contract.cadence == "delta":
            last = _last_applied_seq(conn, drop.source_id)
            if drop.seq is None:
                return reject_drop(conn, drop, drops.DropRejected("delta drop without a seq in its manifest",
                                                                  "manifest.json"), dag_id=dag_id,
                                   dag_run_id=dag_run_id)
            if last is not None and drop.seq <= last:
                conn.execute(sa.text("UPDATE raw.drop SET status='loaded', reason=:r, finished_at=now() "
                                     "WHERE drop_id=:d"), {"r": f"seq {drop.seq} already applied", "d": drop.drop_id})
                report.status, report.reason = "skipped", f"seq {drop.seq} already applied"
                return report
            if last is not None and drop.seq != last + 1:
                return reject_drop(conn, drop, drops.DropRejected(
                    f"register seq gap: last applied {last}, received {drop.seq}; "
                    f"missing {last + 1}..{drop.seq - 1}", "manifest.json"),
                    status="held", dag_id=dag_id, dag_run_id=dag_run_id)

    declared = {f["name"]: f.get("rows") for f in drop.manifest.get("files", [])}
    load_ids: list[int] = []
    seen: list[pd.Series] = []
    try:
        with engine.begin() as conn:
            standing_before = _standing(conn, drop.source_id)
            standing: pd.DataFrame | None = standing_before  # a later file re-reads what the earlier ones left
            for f in sorted(drop.files, key=lambda f: f.name):
                done = conn.execute(
                    sa.text("SELECT load_id FROM staging.load WHERE sha256=:sha AND status='loaded'"), {"sha": f.sha256}
                ).scalar()
                if done:
                    report.files.append(FileReport(f.name, "skipped_duplicate", load_id=done,
                                                   reason=f"content already loaded (load {done})"))
                    continue
                file_report, keys, superseded = _load_file(conn, contract, drop, f, declared.get(f.name),
                                                           max_bad_row_share, max_volume_change, dag_run_id, standing)
                standing = None
                report.files.append(file_report)
                load_ids.append(file_report.load_id)
                seen.append(keys)
                _merge_into_core(conn, drop.source_id, drop.night, file_report.load_id, superseded)
            if contract.cadence == "snapshot" and load_ids:
                report.withdrawn = _withdraw_absent(conn, drop.source_id, drop.night, load_ids[-1],
                                                    pd.concat(seen, ignore_index=True), standing_before)
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
    except (drops.DropRejected, FileRejected) as exc:
        with engine.begin() as conn:  # the file transaction rolled back; record why, in a new one
            return reject_drop(conn, drop, exc, dag_id=dag_id, dag_run_id=dag_run_id)
    return report
