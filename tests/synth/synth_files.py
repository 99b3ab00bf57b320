"""Readers for generated drops, written independently of the generator (format checks)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

START = dt.date(2026, 11, 1)
ALL_FAULTS = ["truncated_file", "wrong_encoding", "missing_manifest", "sha256_mismatch", "register_seq_gap",
              "renamed_column", "garbage_rows", "empty_file"]


def drop_dir(result, source_id: str, night: dt.date) -> Path:
    return result.landing / source_id / night.isoformat()


def manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


def read_csv(path: Path, encoding: str, sep: str) -> tuple[list[str], list[dict]]:
    text = path.read_bytes().decode(encoding)
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=sep))
    header = rows[0]
    return header, [dict(zip(header, r, strict=True)) for r in rows[1:]]


def read_records(folder: Path, source_id: str) -> list[dict]:
    """The data rows of a clean drop, as dicts (JSON sources: the objects)."""
    if source_id == "npu_appeals":
        return read_csv(folder / "appeals.csv", "utf-8-sig", ";")[1]
    if source_id == "mvs_register":
        return [r for p in sorted(folder.glob("register_*.csv")) for r in read_csv(p, "cp1251", ",")[1]]
    if source_id == "coordhq_cases":
        return [json.loads(line) for line in (folder / "cases.jsonl").read_text(encoding="utf-8").splitlines()]
    if source_id == "icrc_confirmations":
        return json.loads((folder / "confirmations.json").read_text(encoding="utf-8"))
    if source_id == "sbu_jc":
        import openpyxl

        wb = openpyxl.load_workbook(folder / "registry.xlsx", read_only=True)
        rows = list(wb["Реєстр"].iter_rows(values_only=True))
        wb.close()
        return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
    if source_id == "exchange_returns":
        out = []
        for p in sorted(folder.glob("exchange_*.csv")):
            for line, r in enumerate(read_csv(p, "utf-8", ",")[1], start=2):
                out.append({**r, "_line": line})
        return out
    name = {"ombudsman": "civilians.csv", "children_deported": "children.csv"}[source_id]
    return read_csv(folder / name, "utf-8", ",")[1]


KEY_OF = {
    "npu_appeals": lambda r: r["номер_звернення"],
    "mvs_register": lambda r: r["register_no"],
    "coordhq_cases": lambda r: r["case_id"],
    "sbu_jc": lambda r: r["Номер справи"],
    "ombudsman": lambda r: r["case_no"],
    "icrc_confirmations": lambda r: r["icrc_ref"],
    "exchange_returns": lambda r: f"{r['exchange_id']}/{r['_line']}",
    "children_deported": lambda r: r["child_id"],
}


def noise_of(result, night: dt.date, source_id: str) -> dict[str, set[str]]:
    """record_key -> the typos the ground truth says the generator planted in that record."""
    with open(result.truth / night.isoformat() / "records.csv", encoding="utf-8", newline="") as f:
        return {r["record_key"]: set(filter(None, r["noise"].split("|"))) for r in csv.DictReader(f)
                if r["source_id"] == source_id}
