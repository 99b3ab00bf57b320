"""A night's drop of one source: the frames (file columns, in file order) and their exact bytes.

Frames hold what goes into the file, one column per file column (JSON sources: dotted
paths for nested objects), so that faults can change a frame and write it again in the
same format. Large files are written in chunks.

What the files look like comes from the source contracts (``include/ridni/contracts/``,
``docs/sources.md``): file names, format, encoding, delimiter, sheet, column names and order,
JSON keys, date formats, the keys a JSON object may leave out, and the delivered codes of
sex, status and person type (the inverse of each column's ``allowed`` mapping). The simulation
here decides the values only, by canonical field.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ridni.contracts import Contract
from ridni.contracts import load as contract
from ridni_dev.synth import render
from ridni_dev.synth.population import TYPES, day, to_date
from ridni_dev.synth.rng import Rand
from ridni_dev.synth.sources import CHURN, SOURCE_IDS, Table

MANIFEST = "manifest.json"
CHUNK_ROWS = 100_000
XLSX_EPOCH = dt.date(1899, 12, 30)


@dataclass(frozen=True)
class Format:
    kind: str                 # csv | jsonl | json | xlsx
    encoding: str = "utf-8"
    sep: str = ","
    eol: str = "\n"
    sheet: str | None = None
    date_columns: tuple[str, ...] = ()


# The contracts leave line ends open (the parser reads both): these sources send Windows line ends.
WINDOWS_LINE_ENDS = ("npu_appeals", "mvs_register")


def format_of(c: Contract) -> Format:
    """How ``c``'s files are written: its contract's format, encoding, delimiter, sheet and Excel date columns."""
    return Format(c.format, c.encoding or "utf-8", c.delimiter or ",",
                  "\r\n" if c.source_id in WINDOWS_LINE_ENDS else "\n", c.sheet,
                  tuple(col.source for col in c.columns if col.type == "excel_date"))


FORMATS = {sid: format_of(contract(sid)) for sid in SOURCE_IDS}


def file_name(source_id: str, part: str = "") -> str:
    """The file's name by the contract's ``file_pattern`` (``register_*.csv`` + ``000042``)."""
    pattern = contract(source_id).file_pattern
    return pattern.replace("*", part) if "*" in pattern else pattern


def _codes(source_id: str, field_name: str) -> dict[str, str]:
    """Canonical value -> the value the source delivers: the inverse of the column's ``allowed`` mapping."""
    out: dict[str, str] = {}
    for delivered, canonical in contract(source_id).column(field_name).allowed.items():
        out.setdefault(canonical, delivered)
    return out


def _encode(source_id: str, field_name: str, canonical) -> np.ndarray:
    """Canonical values (an array, or a Series) as the source delivers them."""
    values = pd.Series(np.asarray(canonical, dtype=object))
    out = values.map(_codes(source_id, field_name))
    if out.isna().any():
        raise KeyError(f"{source_id}.{field_name}: no delivered code for {sorted(set(values[out.isna()]))}")
    return out.to_numpy(dtype=object)


def _sex(source_id: str, male) -> np.ndarray:
    codes = _codes(source_id, "sex")
    return np.where(np.asarray(male, dtype=bool), codes["M"], codes["F"])


def _dates(source_id: str, field_name: str, days: np.ndarray) -> np.ndarray:
    """Day numbers as the column's dates: its own ``format``, else the contract's ``date_format``."""
    c = contract(source_id)
    column = c.column(field_name)
    fmt = (column.format if column is not None else None) or c.date_format
    writers = {"%Y-%m-%d": render.iso, "%d.%m.%Y": render.dmy}
    if fmt not in writers:
        raise ValueError(f"synth writes dates as {sorted(writers)}, not {fmt!r} ({source_id}.{field_name})")
    return writers[fmt](days)


def delivered(source_id: str, values: dict) -> pd.DataFrame:
    """The file's frame: the contract's columns in file order, each named as delivered, from values by field."""
    columns = contract(source_id).columns
    unknown = set(values) - {col.field for col in columns}
    if unknown:
        raise KeyError(f"{source_id} delivers no column for {sorted(unknown)}")
    return pd.DataFrame({col.source: values[col.field] for col in columns})


def _none_if_empty(a) -> np.ndarray:
    a = np.asarray(a, dtype=object)
    return np.where((a == "") | pd.isna(a), None, a)


class Churn:
    """The night of each record's latest edit during the run (-1: never), advanced night by night.

    An edit on night d is a draw keyed by (record, d): a longer run edits the same records on the
    same nights. The edited value is drawn from (record, night of the edit).
    """

    def __init__(self, rng: Rand, tables: dict[str, Table]):
        self.rng = rng
        self.keys = {sid: tables[sid].records["ekey"].to_numpy(np.int64) for sid in CHURN if sid != "mvs_register"}
        self.last = {sid: np.full(len(k), -1, dtype=np.int64) for sid, k in self.keys.items()}

    def advance(self, night: dt.date) -> None:
        d = day(night)
        for sid, keys in self.keys.items():
            hit = self.rng.u(f"{sid}.edit", keys * 65536 + d % 65536) < CHURN[sid]
            self.last[sid][hit] = d

    def draw(self, sid: str, stream: str, recs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(edited?, a uniform draw for the edited value) for the given records."""
        last = self.last[sid][recs]
        return last >= 0, self.rng.u(f"{sid}.{stream}", self.keys[sid][recs] * 65536 + last % 65536)


# ---------------------------------------------------------------- frames
def npu_frame(t: Table, night: int, churn: Churn | None = None) -> pd.DataFrame:
    s = t.standing(night).sort_values("record_key", ignore_index=True)
    phone = s["phone"].to_numpy(dtype=object)
    if churn is not None:
        edited, u = churn.draw("npu_appeals", "phone", s["rec"].to_numpy())
        operators = _operators()
        new = np.asarray([f"+380{operators[int(x * len(operators))]}{int(x * 1e13) % 10**7:07d}" for x in u[edited]],
                         dtype=object)
        phone = phone.copy()
        phone[edited] = new
    sid = "npu_appeals"
    return delivered(sid, {
        "record_key": s["record_key"],
        "registered_on": _dates(sid, "registered_on", s["registered"].to_numpy()),
        "surname": s["surname"], "first_name": s["first_name"], "patronymic": s["patronymic"],
        "birth_date": _dates(sid, "birth_date", s["birth"].to_numpy()),
        "sex": _sex(sid, s["male"]),
        "rnokpp": s["rnokpp"],
        "person_type": _encode(sid, "person_type", np.asarray(TYPES, dtype=object)[s["claim"].to_numpy()]),
        "disappeared_on": _dates(sid, "disappeared_on", s["disappeared"].to_numpy()),
        "region": s["region"].map(_region_uk()),
        "settlement": s["settlement"],
        "circumstances": s["circumstances"],
        "applicant_relation": s["relation"],
        "applicant_phone": phone,
    })


def _operators() -> list[str]:
    from ridni_dev.synth.vocab import load

    return load().words["phone_operators"]


def _region_uk() -> dict[str, str]:
    from ridni_dev.synth.vocab import load

    return load().region_uk


def mvs_frame(t: Table, npu: Table, prev_night: int | None, night: int) -> pd.DataFrame:
    v = t.versions
    vis = v["vis"].to_numpy()
    m = vis <= night if prev_night is None else (vis > prev_night) & (vis <= night)
    rows = v[m]
    r = t.records.iloc[rows["rec"].to_numpy()].reset_index(drop=True)
    rows = rows.reset_index(drop=True)
    clean = rows["clean"].to_numpy()
    sid = "mvs_register"
    (cites,) = contract(sid).references
    df = delivered(sid, {
        "record_key": r["record_key"], "op": rows["op"],
        "changed_at": render.timestamps(rows["vis"].to_numpy(), rows["seconds"].to_numpy()),
        "surname": np.where(clean, r["surname_clean"], r["surname"]),
        "first_name": np.where(clean, r["first_name_clean"], r["first_name"]),
        "patronymic": np.where(clean, r["patronymic_clean"], r["patronymic"]),
        "birth_date": _dates(sid, "birth_date", r["birth"].to_numpy()), "sex": _sex(sid, r["male"]),
        "rnokpp": np.where(rows["rn"].to_numpy(), r["rnokpp"].to_numpy(), ""),
        "person_type": _encode(sid, "person_type", np.asarray(TYPES, dtype=object)[r["group"].to_numpy() - 1]),
        "status": _encode(sid, "status", rows["token"]),
        "status_date": _dates(sid, "status_date", rows["e"].to_numpy()), "region": r["region"],
        "appeal_refs": _appeal_refs(npu, r["person_no"].to_numpy(), rows["vis"].to_numpy(), r["cites"].to_numpy(),
                                    cites.separator),
    })
    key, changed_at = (contract(sid).column(f).source for f in ("record_key", "changed_at"))
    order = np.lexsort((rows["order"].to_numpy(), df[key].to_numpy(), df[changed_at].to_numpy()))
    return df.iloc[order].reset_index(drop=True)


def _appeal_refs(npu: Table, person_no: np.ndarray, when: np.ndarray, cites: np.ndarray, separator: str) -> np.ndarray:
    """The police appeals of the person registered by the row's date, separated as the contract says."""
    out = np.full(len(person_no), "", dtype=object)
    if not len(person_no):
        return out
    rows = pd.DataFrame({"row": np.arange(len(person_no)), "person_no": person_no, "when": when})[cites]
    appeals = pd.DataFrame({"person_no": npu.records["person_no"],
                            "key": npu.records["record_key"].to_numpy(dtype=object),
                            "vis": npu.versions.groupby("rec")["vis"].min().to_numpy()})
    j = rows.merge(appeals, on="person_no")
    j = j[j["vis"].to_numpy() <= j["when"].to_numpy()].sort_values(["row", "key"])
    nth = j.groupby("row").cumcount().to_numpy()
    row, key = j["row"].to_numpy(), j["key"].to_numpy(dtype=object)
    for k in range(int(nth.max()) + 1 if len(nth) else 0):  # at most four appeals a person
        m = nth == k
        out[row[m]] = key[m] if k == 0 else out[row[m]] + separator + key[m]
    return out


def coordhq_frame(t: Table, night: int, churn: Churn | None = None) -> pd.DataFrame:
    s = t.standing(night).sort_values("record_key", ignore_index=True)
    mil = s["military"].to_numpy()
    office = s["office"].to_numpy(dtype=object)
    if churn is not None:
        from ridni_dev.synth.vocab import load

        offices = np.asarray(load().words["offices"], dtype=object)
        edited, u = churn.draw("coordhq_cases", "office", s["rec"].to_numpy())
        office = np.where(edited, offices[np.floor(u * len(offices)).astype(int)], office)
    confirmed = s["token"].to_numpy() != "missing"
    sid = "coordhq_cases"
    return delivered(sid, {
        "record_key": s["record_key"], "registered_on": _dates(sid, "registered_on", s["opened"].to_numpy()),
        "surname": s["surname"], "first_name": s["first_name"],
        "patronymic": _none_if_empty(s["patronymic"]),
        "birth_date": _none_if_empty(_dates(sid, "birth_date", s["birth"].to_numpy())),
        "sex": _sex(sid, s["male"]),
        "rank": np.where(mil, s["rank"], None), "unit": np.where(mil, s["unit"], None),
        "service_no": np.where(mil, s["service_no"], None),
        "person_type": ~mil,  # a JSON boolean: true for a civilian
        "status": _encode(sid, "status", s["token"]),
        "status_date": np.where(confirmed, _dates(sid, "status_date", s["e"].to_numpy()), None),
        "confirmation_source": s["conf"].where(pd.notna(s["conf"]), None),
        "office": office,
    })


def sbu_frame(t: Table, night: int) -> pd.DataFrame:
    s = t.standing(night).sort_values("record_key", ignore_index=True)
    birth = s["birth"].to_numpy()
    return delivered("sbu_jc", {  # dates as day numbers: Excel date cells
        "full_name": s["full_name"],
        "birth_date": np.where(birth == render.MISSING_DAY, None, birth.astype(object)),
        "place_of_detention": s["place"], "detaining_country": s["country"],
        "status_date": s["e"].to_numpy().astype(object),
        "source_note": s["said_by"], "record_key": s["record_key"],
    })


def _region_rewritten(churn: Churn | None, sid: str, s: pd.DataFrame, column: str) -> np.ndarray:
    """An edited record writes its region as the code, or the Ukrainian name, whichever it did not."""
    region = s[column].to_numpy(dtype=object)
    if churn is None:
        return region
    edited, _ = churn.draw(sid, "region", s["rec"].to_numpy())
    if not edited.any():
        return region
    uk = _region_uk()
    codes = s["region_code"].to_numpy(dtype=object)
    out = region.copy()
    out[edited] = [uk[c] if r == c else c for r, c in zip(region[edited], codes[edited], strict=True)]
    return out


def ombudsman_frame(t: Table, night: int, churn: Churn | None = None) -> pd.DataFrame:
    s = t.standing(night).sort_values("record_key", ignore_index=True)
    sid = "ombudsman"
    return delivered(sid, {
        "record_key": s["record_key"], "surname": s["surname"], "first_name": s["first_name"],
        "patronymic": s["patronymic"], "birth_date": _dates(sid, "birth_date", s["birth"].to_numpy()),
        "status": _encode(sid, "status", s["token"]), "court": s["court"], "sentence_years": s["sentence"],
        "icrc_confirmed": np.where(s["icrc"].astype(bool), "true", "false"),
        "status_date": _dates(sid, "status_date", s["e"].to_numpy()),
        "region": _region_rewritten(churn, sid, s, "region"),
    })


def icrc_frame(t: Table, night: int) -> pd.DataFrame:
    s = t.standing(night).sort_values("record_key", ignore_index=True)
    full = pd.Series(render.iso(s["birth"].to_numpy()), dtype=object)
    precision = s["precision"].to_numpy()
    dob = np.where(precision == 0, full, np.where(precision == 1, full.str[:7], full.str[:4]))
    sid = "icrc_confirmations"
    return delivered(sid, {
        "record_key": s["record_key"], "surname": s["family_name"], "first_name": s["first_name"],
        "patronymic": s["father_name"].where(pd.notna(s["father_name"]), None),
        "birth_date": dob, "sex": _sex(sid, s["male"]),
        "status": _encode(sid, "status", s["token"]), "status_date": _dates(sid, "status_date", s["e"].to_numpy()),
        "detaining_power": s["power"],
    })


def exchange_frames(t: Table, night: int) -> dict[str, pd.DataFrame]:
    r = t.records
    tonight = r[r["vis"].to_numpy() == night]  # the night after the exchange, or later (a backlog)
    out = {}
    sid = "exchange_returns"
    for exchange_id, s in tonight.groupby("exchange_id", sort=True):
        s = s.sort_values("line")
        out[file_name(sid, exchange_id)] = delivered(sid, {
            "exchange_id": s["exchange_id"], "status_date": _dates(sid, "status_date", s["exchange_date"].to_numpy()),
            "surname": s["surname"], "first_name": s["first_name"], "patronymic": s["patronymic"],
            "birth_date": _dates(sid, "birth_date", s["birth"].to_numpy()),
            "person_type": _encode(sid, "person_type", s["category"]), "service_no": s["service_no"],
        }).reset_index(drop=True)
    return out


def children_frame(t: Table, night: int, churn: Churn | None = None) -> pd.DataFrame:
    s = t.standing(night).sort_values("record_key", ignore_index=True)
    sid = "children_deported"
    return delivered(sid, {
        "record_key": s["record_key"], "surname": s["surname"], "first_name": s["first_name"],
        "patronymic": s["patronymic"], "birth_date": _dates(sid, "birth_date", s["birth"].to_numpy()),
        "sex": _sex(sid, s["male"]), "status": _encode(sid, "status", s["token"]),
        "status_date": _dates(sid, "status_date", s["e"].to_numpy()),
        "region": _region_rewritten(churn, sid, s, "region"),
    })


def frames(tables: dict[str, Table], source_id: str, night: dt.date, seq: int | None,
           first_night: bool, churn: Churn | None = None) -> dict[str, pd.DataFrame]:
    """File name -> frame of the night's drop (empty dict: no drop tonight)."""
    n = day(night)
    t = tables[source_id]
    name = file_name(source_id)
    if source_id == "npu_appeals":
        return {name: npu_frame(t, n, churn)}
    if source_id == "mvs_register":
        (cited,) = contract(source_id).references
        return {file_name(source_id, f"{seq:06d}"): mvs_frame(t, tables[cited.source],
                                                              None if first_night else n - 1, n)}
    if source_id == "coordhq_cases":
        return {name: coordhq_frame(t, n, churn)}
    if source_id == "sbu_jc":
        return {name: sbu_frame(t, n)}
    if source_id == "ombudsman":
        return {name: ombudsman_frame(t, n, churn)}
    if source_id == "icrc_confirmations":
        return {name: icrc_frame(t, n)}
    if source_id == "exchange_returns":
        return exchange_frames(t, n)
    if source_id == "children_deported":
        return {name: children_frame(t, n, churn)}
    raise KeyError(source_id)


# ---------------------------------------------------------------- serialisation
def _csv_field(values, sep: str) -> np.ndarray:
    """A column as CSV text (QUOTE_MINIMAL, like the csv module): None -> empty."""
    a = np.asarray(values, dtype=object)
    a = np.where(pd.isna(a), "", a)
    try:
        joined = "\x00".join(a)
    except TypeError:
        a = np.asarray([str(x) for x in a], dtype=object)
        joined = "\x00".join(a)
    if sep in joined or '"' in joined or "\n" in joined or "\r" in joined:
        special = (sep, '"', "\n", "\r")
        need = np.fromiter((any(c in x for c in special) for x in a), dtype=bool, count=len(a))
        a[need] = ['"' + x.replace('"', '""') + '"' for x in a[need]]
    return a


def _csv_chunks(frame: pd.DataFrame, fmt: Format):
    yield fmt.sep.join(_csv_field(list(frame.columns), fmt.sep)) + fmt.eol
    for start in range(0, len(frame), CHUNK_ROWS):
        chunk = frame.iloc[start:start + CHUNK_ROWS]
        line = None
        for c in chunk.columns:
            field_ = _csv_field(chunk[c].to_numpy(dtype=object), fmt.sep)
            line = field_ if line is None else line + fmt.sep + field_
        yield fmt.eol.join(line) + fmt.eol


def _native(col: pd.Series) -> list:
    a = col.to_numpy(dtype=object)
    return np.where(pd.isna(a), None, a).tolist()


def _objects(frame: pd.DataFrame, drop_none: tuple[str, ...] = ()):
    """Rows as (nested) dicts in column order; dotted names nest; an all-null nested object is null."""
    flat, nested = [], {}
    layout = []
    for c in frame.columns:
        head, _, tail = c.partition(".")
        if tail:
            if head not in nested:
                nested[head] = []
                layout.append(("nested", head))
            nested[head].append((tail, _native(frame[c])))
        else:
            flat.append(c)
            layout.append(("flat", c))
    cols = {c: _native(frame[c]) for c in flat}
    for i in range(len(frame)):
        obj = {}
        for kind, name in layout:
            if kind == "flat":
                v = cols[name][i]
                if v is None and name in drop_none:
                    continue
                if isinstance(v, np.generic):
                    v = v.item()
                obj[name] = v
            else:
                inner = {tail: (v[i].item() if isinstance(v[i], np.generic) else v[i]) for tail, v in nested[name]}
                obj[name] = inner if any(x is not None for x in inner.values()) else None
        yield obj


def write_frame(path: Path, fmt: Format, frame: pd.DataFrame, *, created: dt.datetime,
                drop_none: tuple[str, ...] = ()) -> int:
    """Write ``frame`` to ``path`` in ``fmt``; returns the number of data rows."""
    if fmt.kind == "csv":
        with open(path, "w", encoding=fmt.encoding, newline="") as f:
            for text in _csv_chunks(frame, fmt):
                f.write(text)
    elif fmt.kind == "jsonl":
        with open(path, "w", encoding=fmt.encoding, newline="") as f:
            batch = []
            for obj in _objects(frame, drop_none):
                batch.append(json.dumps(obj, ensure_ascii=False))
                if len(batch) >= CHUNK_ROWS:
                    f.write("\n".join(batch) + "\n")
                    batch = []
            if batch:
                f.write("\n".join(batch) + "\n")
    elif fmt.kind == "json":
        with open(path, "w", encoding=fmt.encoding, newline="") as f:
            f.write("[")
            for i, obj in enumerate(_objects(frame, drop_none)):
                f.write(("," if i else "") + "\n  " + json.dumps(obj, ensure_ascii=False))
            f.write("\n]\n")
    elif fmt.kind == "xlsx":
        _write_xlsx(path, fmt, frame, created)
    else:
        raise ValueError(fmt.kind)
    return len(frame)


def _write_xlsx(path: Path, fmt: Format, frame: pd.DataFrame, created: dt.datetime) -> None:
    import xlsxwriter

    # in_memory: every part of the zip gets the fixed 1980-01-01 timestamp; with a fixed
    # `created` property the file is byte-identical for the same content.
    wb = xlsxwriter.Workbook(str(path), {"in_memory": True, "strings_to_numbers": False,
                                         "strings_to_formulas": False, "strings_to_urls": False})
    wb.set_properties({"created": created, "author": "СБУ, Об'єднаний центр", "title": "Реєстр"})
    ws = wb.add_worksheet(fmt.sheet)
    bold = wb.add_format({"bold": True})
    date_fmt = wb.add_format({"num_format": "dd.mm.yyyy"})
    columns = list(frame.columns)
    ws.write_row(0, 0, columns, bold)
    date_cols = {i for i, c in enumerate(columns) if c in fmt.date_columns}
    for i in range(len(columns)):
        ws.set_column(i, i, 14 if i in date_cols else 28)
    data = [frame[c].to_numpy(dtype=object) for c in columns]
    epoch = day(XLSX_EPOCH)
    for r in range(len(frame)):
        for ci in range(len(columns)):
            v = data[ci][r]
            if v is None or (isinstance(v, float) and np.isnan(v)):
                continue
            if ci in date_cols and isinstance(v, int | np.integer):
                ws.write_number(r + 1, ci, int(v) - epoch, date_fmt)  # an Excel serial date
            else:
                ws.write_string(r + 1, ci, str(v))
    wb.close()


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class Drop:
    """One source's drop for one night, as written, with the frames kept for faults."""

    source_id: str
    night: dt.date
    folder: Path
    fmt: Format
    frames: dict[str, pd.DataFrame]
    manifest: dict
    created: dt.datetime
    drop_none: tuple[str, ...] = ()
    rows: dict[str, int] = field(default_factory=dict)

    def path(self, name: str) -> Path:
        return self.folder / name

    def write_file(self, name: str, frame: pd.DataFrame | None = None, *, update_manifest: bool = True) -> int:
        if frame is not None:
            self.frames[name] = frame
        rows = write_frame(self.path(name), self.fmt, self.frames[name], created=self.created,
                           drop_none=self.drop_none)
        self.rows[name] = rows
        if update_manifest:
            self.set_manifest_entry(name, rows=rows)
        return rows

    def set_manifest_entry(self, name: str, *, rows: int | None = None, new_name: str | None = None) -> None:
        entry = next((f for f in self.manifest["files"] if f["name"] == name), None)
        if entry is None:
            entry = {"name": name, "sha256": "", "rows": 0}
            self.manifest["files"].append(entry)
        entry["name"] = new_name or name
        entry["sha256"] = sha256_of(self.path(entry["name"]))
        if rows is not None:
            entry["rows"] = rows
        self.manifest["files"].sort(key=lambda f: f["name"])

    def save_manifest(self) -> None:
        text = json.dumps(self.manifest, ensure_ascii=False, indent=2) + "\n"
        tmp = self.path(MANIFEST + ".partial")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(self.path(MANIFEST))

    def remove_manifest(self) -> None:
        self.path(MANIFEST).unlink(missing_ok=True)


def write_drop(folder: Path, source_id: str, night: dt.date, frames_: dict[str, pd.DataFrame],
               seq: int | None) -> Drop:
    """Write the files, then the manifest (a drop is complete when its manifest is present)."""
    folder.mkdir(parents=True, exist_ok=True)
    manifest: dict = {"source": source_id, "extract_date": night.isoformat(), "files": []}
    if seq is not None:
        manifest["seq"] = seq
    c = contract(source_id)
    # a JSON key the contract lets be absent is left out of the objects where it has no value
    optional = tuple(col.source for col in c.columns if col.optional) if c.format in ("json", "jsonl") else ()
    drop = Drop(source_id, night, folder, FORMATS[source_id], dict(frames_), manifest,
                created=dt.datetime.combine(night, dt.time(2, 0)), drop_none=optional)
    for name in sorted(frames_):
        drop.write_file(name)
    drop.save_manifest()
    return drop


def from_excel_serial(value: float) -> dt.date:
    return to_date(int(value) + day(XLSX_EPOCH))
