"""Faults injected into one source's drop on one night, each by name (``FAULTS``).

A fault spec is ``name``, ``name:source_id`` or ``name:source_id:YYYY-MM-DD``; the
default source is ``DEFAULT_SOURCE[name]`` (chosen so that all eight can be injected in
one run without two landing on the same drop) and the default night is the first
(the second for ``register_seq_gap``, which needs a previous delta to be missing from).

Each fault function takes the written :class:`~ridni_dev.synth.writers.Drop` and leaves it
in the faulted state; it returns an :class:`InjectedFault` (what it did, ``expect``: what
the pipeline must do, ``lines``: the file lines concerned), which the generator lists in
``SynthResult.faults`` and writes to ``truth/<night>/faults.json``:

| fault | what is done | expect |
|---|---|---|
| ``truncated_file`` | the file is cut in the middle of a record (about two thirds in); the manifest's sha256 is that of the cut file, its row count the full one | ``drop_rejected`` (row count / unreadable) |
| ``wrong_encoding`` | a UTF-8 file is sent in Windows-1251, or the Windows-1251 register in UTF-8; the manifest matches the bytes sent | ``drop_rejected`` (undecodable or unreadable text) |
| ``missing_manifest`` | ``manifest.json`` is not delivered; the files are | ``incomplete`` (rejected at the late hour) |
| ``sha256_mismatch`` | the file is re-exported after its manifest was written (its last record dropped) | ``drop_rejected`` (sha256 differs) |
| ``register_seq_gap`` | the night's delta is numbered one past the expected seq (file name and manifest); later nights continue from there | ``drop_held`` (seq gap) |
| ``renamed_column`` | one column (``RENAMED[source]``) has another name in the header / JSON keys | ``drop_rejected`` (schema changed) |
| ``garbage_rows`` | a few rows (1% of the file, at least 1, at most 20) with impossible dates, unknown codes and broken keys are inserted among the good ones; the manifest counts them | ``rows_quarantined`` (the listed lines), the rest loads |
| ``empty_file`` | the file is 0 bytes; the manifest says 0 rows and the empty file's sha256 | ``drop_rejected`` (empty file, no header) |
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from ridni.contracts import load as contract
from ridni_dev.synth.writers import MANIFEST, Drop

DEFAULT_SOURCE = {
    "truncated_file": "icrc_confirmations",
    "wrong_encoding": "ombudsman",
    "missing_manifest": "coordhq_cases",
    "sha256_mismatch": "children_deported",
    "register_seq_gap": "mvs_register",
    "renamed_column": "sbu_jc",
    "garbage_rows": "npu_appeals",
    "empty_file": "exchange_returns",
}
# The column renamed, by the canonical field it fills (its name is the contract's), and its new name.
RENAMED = {
    "npu_appeals": ("birth_date", "дата народження"),
    "mvs_register": ("birth_date", "date_of_birth"),
    "coordhq_cases": ("registered_on", "opened"),
    "sbu_jc": ("birth_date", "Дата нар."),
    "ombudsman": ("status_date", "confirmation_date"),
    "icrc_confirmations": ("birth_date", "dob"),
    "exchange_returns": ("service_no", "service_number"),
    "children_deported": ("status_date", "report_date"),
}


@dataclass(frozen=True)
class FaultSpec:
    name: str
    source_id: str
    night: dt.date


@dataclass
class InjectedFault:
    fault: str
    source_id: str
    night: dt.date
    file: str | None
    expect: str                 # drop_rejected | drop_held | incomplete | rows_quarantined
    detail: str
    lines: list[int] = field(default_factory=list)  # rows_quarantined: the lines ingestion must quarantine
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["night"] = self.night.isoformat()
        return d


def _main_file(drop: Drop) -> str:
    if not drop.frames:
        raise ValueError(f"{drop.source_id} has no file on {drop.night}: nothing to inject a fault into")
    return sorted(drop.frames)[0]


def _result(drop: Drop, name: str, file: str | None, expect: str, detail: str, lines: list[int] | None = None,
            **extra) -> InjectedFault:
    return InjectedFault(name, drop.source_id, drop.night, file, expect, detail, list(lines or []), extra)


def truncated_file(drop: Drop) -> InjectedFault:
    name = _main_file(drop)
    path = drop.path(name)
    data = path.read_bytes()
    cut = max(1, len(data) * 2 // 3)
    if drop.fmt.kind != "xlsx":
        text_end = data.rfind(b"\n", 0, cut)
        line_start = text_end + 1 if text_end >= 0 else 0
        next_nl = data.find(b"\n", line_start)
        line_end = next_nl if next_nl > line_start else len(data)
        cut = line_start + max(1, (line_end - line_start) // 2)
        while cut < len(data) and (data[cut] & 0xC0) == 0x80:  # never in the middle of a UTF-8 character
            cut += 1
    path.write_bytes(data[:cut])
    drop.set_manifest_entry(name)  # sha256 of what was sent; rows stay as declared
    drop.save_manifest()
    return _result(drop, "truncated_file", name, "drop_rejected",
                   f"file cut at byte {cut} of {len(data)} (mid-record); manifest declares {drop.rows[name]} rows",
                   bytes_sent=cut, bytes_full=len(data))


def wrong_encoding(drop: Drop) -> InjectedFault:
    name = _main_file(drop)
    if drop.fmt.kind == "xlsx":
        raise ValueError("wrong_encoding applies to text files, not XLSX")
    path = drop.path(name)
    text = path.read_bytes().decode(drop.fmt.encoding)
    sent_as = "utf-8" if drop.fmt.encoding.lower() in ("cp1251", "windows-1251") else "cp1251"
    path.write_bytes(text.encode(sent_as, errors="replace"))
    drop.set_manifest_entry(name)
    drop.save_manifest()
    return _result(drop, "wrong_encoding", name, "drop_rejected",
                   f"sent in {sent_as} instead of {drop.fmt.encoding}", sent_as=sent_as, expected=drop.fmt.encoding)


def missing_manifest(drop: Drop) -> InjectedFault:
    drop.remove_manifest()
    return _result(drop, "missing_manifest", MANIFEST, "incomplete",
                   "files delivered without manifest.json: the drop never completes")


def sha256_mismatch(drop: Drop) -> InjectedFault:
    name = _main_file(drop)
    frame = drop.frames[name]
    if frame.empty:
        raise ValueError(f"{name} has no rows to change")
    declared = next(f["sha256"] for f in drop.manifest["files"] if f["name"] == name)
    drop.write_file(name, frame.iloc[:-1].reset_index(drop=True), update_manifest=False)
    return _result(drop, "sha256_mismatch", name, "drop_rejected",
                   "file re-exported (last record dropped) after the manifest was written", declared_sha256=declared)


def register_seq_gap(drop: Drop) -> InjectedFault:
    if "seq" not in drop.manifest:
        raise ValueError("register_seq_gap applies to the numbered register deltas (mvs_register)")
    name = _main_file(drop)
    expected = drop.manifest["seq"]
    sent = expected + 1
    new_name = name.replace(f"{expected:06d}", f"{sent:06d}")
    drop.path(name).rename(drop.path(new_name))
    drop.frames[new_name] = drop.frames.pop(name)
    drop.rows[new_name] = drop.rows.pop(name)
    drop.set_manifest_entry(name, new_name=new_name)
    drop.manifest["seq"] = sent
    drop.save_manifest()
    return _result(drop, "register_seq_gap", new_name, "drop_held",
                   f"delta numbered {sent}, expected {expected}: seq {expected} is never delivered",
                   expected_seq=expected, delivered_seq=sent, missing_seq=[expected])


def renamed_column(drop: Drop) -> InjectedFault:
    name = _main_file(drop)
    field_name, new = RENAMED[drop.source_id]
    old = contract(drop.source_id).column(field_name).source
    frame = drop.frames[name]
    if old not in frame.columns:
        raise ValueError(f"{name} has no column {old!r}")
    drop.write_file(name, frame.rename(columns={old: new}))
    drop.save_manifest()
    return _result(drop, "renamed_column", name, "drop_rejected", f"column {old!r} arrives as {new!r}",
                   column=old, renamed_to=new)


def _garbage_value(col: str, value, kind: str, i: int):
    """An impossible value for a column, in the column's own style."""
    if isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_):
        return "31.02.2023"  # an Excel date column receiving text
    if not isinstance(value, str) or not value:
        return value
    if len(value) == 10 and value[4] == "-" and value[7] == "-":
        return "2023-02-31"
    if len(value) == 10 and value[2] == "." and value[5] == ".":
        return "31.02.2023"
    return None


def garbage_rows(drop: Drop) -> InjectedFault:
    name = _main_file(drop)
    frame = drop.frames[name]
    if frame.empty:
        raise ValueError(f"{name} has no rows to mix garbage into")
    n = int(min(20, max(1, len(frame) // 100)))
    step = max(1, len(frame) // (n + 1))
    positions = [min(len(frame), (k + 1) * step) for k in range(n)]
    c = contract(drop.source_id)
    # the record key's column (a derived key: the first column, which it is built from); coded columns get '???'
    key_col = c.column("record_key").source if c.column("record_key") else frame.columns[0]
    enum_cols = [col.source for col in c.columns if col.allowed is not None and col.source in frame.columns]
    bad = []
    for k, pos in enumerate(positions):
        row = frame.iloc[min(pos, len(frame) - 1)].copy()
        for col in frame.columns:
            g = _garbage_value(col, row[col], drop.fmt.kind, k)
            if g is not None and g != row[col]:
                row[col] = g
        for col in enum_cols:
            row[col] = "???"
        row[key_col] = f"ERR-{k + 1}"
        bad.append((pos, row))
    parts, last = [], 0
    for pos, row in bad:
        parts.append(frame.iloc[last:pos])
        parts.append(pd.DataFrame([row.to_dict()], columns=frame.columns))
        last = pos
    parts.append(frame.iloc[last:])
    new = pd.concat(parts, ignore_index=True)
    drop.write_file(name, new)
    drop.save_manifest()
    lines = _lines_of(drop, new, [pos + k for k, (pos, _) in enumerate(bad)])
    return _result(drop, "garbage_rows", name, "rows_quarantined",
                   f"{n} garbage row(s): impossible dates, '???' codes, keys 'ERR-n'", lines=lines,
                   keys=[f"ERR-{k + 1}" for k in range(n)])


def _lines_of(drop: Drop, frame: pd.DataFrame, indexes: list[int]) -> list[int]:
    """The line number ingestion reports (ARCHITECTURE.md): CSV/XLSX header = line 1; JSONL physical line;
    JSON array: 1-based element index."""
    if drop.fmt.kind in ("csv", "xlsx"):
        return [i + 2 for i in indexes]
    return [i + 1 for i in indexes]


def empty_file(drop: Drop) -> InjectedFault:
    name = _main_file(drop)
    drop.path(name).write_bytes(b"")
    drop.rows[name] = 0
    drop.set_manifest_entry(name, rows=0)
    drop.save_manifest()
    return _result(drop, "empty_file", name, "drop_rejected", "0-byte file (no header, no rows); manifest says 0 rows")


FAULTS: dict[str, Callable[[Drop], InjectedFault]] = {
    "truncated_file": truncated_file,
    "wrong_encoding": wrong_encoding,
    "missing_manifest": missing_manifest,
    "sha256_mismatch": sha256_mismatch,
    "register_seq_gap": register_seq_gap,
    "renamed_column": renamed_column,
    "garbage_rows": garbage_rows,
    "empty_file": empty_file,
}


def parse(specs: Collection[str], nights: list[dt.date]) -> list[FaultSpec]:
    """Resolve fault specs against the run's nights; raise ValueError for anything unknown."""
    from ridni_dev.synth.sources import SOURCE_IDS

    out = []
    for spec in specs:
        name, _, rest = str(spec).partition(":")
        if name not in FAULTS:
            raise ValueError(f"unknown fault {name!r}; known: {', '.join(FAULTS)}")
        source, _, when = rest.partition(":")
        source = source or DEFAULT_SOURCE[name]
        if source not in SOURCE_IDS:
            raise ValueError(f"unknown source {source!r} in fault spec {spec!r}")
        if name == "register_seq_gap" and source != "mvs_register":
            raise ValueError("register_seq_gap applies to mvs_register only")
        if when:
            night = dt.date.fromisoformat(when)
        elif name == "register_seq_gap":
            if len(nights) < 2:
                raise ValueError("register_seq_gap needs at least 2 nights (the gap follows a delivered delta)")
            night = nights[1]
        else:
            night = nights[0]
        if night not in nights:
            raise ValueError(f"fault {spec!r}: {night} is not one of the generated nights")
        fs = FaultSpec(name, source, night)
        if any(o.source_id == fs.source_id and o.night == fs.night for o in out):
            raise ValueError(f"two faults on the same drop ({source}, {night}): inject them in separate runs")
        out.append(fs)
    return out
