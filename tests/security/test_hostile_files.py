"""Hostile files through the real ingestion: refused as a whole, with a reason naming the file, an alert,
the raw file archived unchanged, nothing in staging or core, and memory bounded by the file's size (never
by what it claims to expand to).
"""

from __future__ import annotations

import io
import random
import resource
import tracemalloc
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from secutil import START, sha256_of, write_drop

from ridni.ingest.run import ingest_source

MiB = 1 << 20


def _npu_header(landing: Path) -> bytes:
    return (landing / "npu_appeals" / START.isoformat() / "appeals.csv").read_bytes().split(b"\r\n", 1)[0]


def enormous_line(landing: Path) -> tuple[str, str, bytes, int]:
    """A header, then one 24 MiB record: a corrupt or hostile file, not an appeal."""
    header = _npu_header(landing)
    fields = header.count(b";") + 1
    row = b"20220000001;25.02.2022;" + b"A" * (24 * MiB) + b";" * (fields - 3)
    return "npu_appeals", "appeals.csv", header + b"\r\n" + row + b"\r\n", 1


def binary_named_csv(landing: Path) -> tuple[str, str, bytes, int]:
    """Random bytes (an encrypted archive, a photo...) delivered as the appeals CSV."""
    return "npu_appeals", "appeals.csv", random.Random(7).randbytes(2 * MiB), 1000


def invalid_utf8(landing: Path) -> tuple[str, str, bytes, int]:
    """The real appeals file with one name broken into bytes that are not UTF-8 (line 5)."""
    data = (landing / "npu_appeals" / START.isoformat() / "appeals.csv").read_bytes()
    lines = data.split(b"\r\n")
    cells = lines[4].split(b";")
    cells[2] = cells[2][:2] + b"\xc3\x28\xa0\xff" + cells[2][2:]
    lines[4] = b";".join(cells)
    return "npu_appeals", "appeals.csv", b"\r\n".join(lines), len([x for x in lines[1:] if x])


def _workbook_with(landing: Path, members: Callable[[zipfile.ZipFile], None], level: int) -> bytes:
    """The real SBU workbook, with extra or replaced members written by ``members``."""
    real = (landing / "sbu_jc" / START.isoformat() / "registry.xlsx").read_bytes()
    buf = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(real)) as src,
        zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as out,
    ):
        for info in src.infolist():
            if info.filename != "xl/worksheets/sheet1.xml":
                out.writestr(info, src.read(info))
        members(out)
    return buf.getvalue()


def zip_bomb_ratio(landing: Path) -> tuple[str, str, bytes, int]:
    """An XLSX whose sheet is 128 MiB of rows squeezed into a few hundred KiB."""

    def sheet(zf: zipfile.ZipFile) -> None:
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f:
            f.write(
                b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/'
                b'spreadsheetml/2006/main"><sheetData>'
            )
            chunk = b'<row><c t="inlineStr"><is><t>A</t></is></c></row>' * 20000
            for _ in range(128 * MiB // len(chunk)):
                f.write(chunk)
            f.write(b"</sheetData></worksheet>")

    return "sbu_jc", "registry.xlsx", _workbook_with(landing, sheet, 9), 1


def zip_bomb_total(landing: Path) -> tuple[str, str, bytes, int]:
    """An XLSX carrying 33 hidden members of 16 MiB of zeros each: 528 MiB once unpacked."""

    def media(zf: zipfile.ZipFile) -> None:
        zero = bytes(MiB)
        for k in range(33):
            with zf.open(f"xl/media/image{k}.bin", "w", force_zip64=True) as f:
                for _ in range(16):
                    f.write(zero)
        real = (landing / "sbu_jc" / START.isoformat() / "registry.xlsx").read_bytes()
        with zipfile.ZipFile(io.BytesIO(real)) as src:
            zf.writestr("xl/worksheets/sheet1.xml", src.read("xl/worksheets/sheet1.xml"))

    return "sbu_jc", "registry.xlsx", _workbook_with(landing, media, 1), 1


@dataclass
class Case:
    make: Callable[[Path], tuple[str, str, bytes, int]]
    reason: str  # a fragment the reason must contain
    line: int | None = None


CASES = {
    "one enormous line": Case(enormous_line, "line longer than", 2),
    "binary file named .csv": Case(binary_named_csv, "binary"),
    "invalid UTF-8": Case(invalid_utf8, "not valid", 5),
    "zip bomb posing as XLSX (ratio)": Case(zip_bomb_ratio, "zip bomb"),
    "zip bomb posing as XLSX (total size)": Case(zip_bomb_total, "zip bomb"),
}


def _one(conn, sql, **params):
    return conn.execute(sa.text(sql), params).one()


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_file_is_refused_with_its_reason_in_bounded_memory(
    night_env, fresh_warehouse, tmp_path, case
):
    _, engine = fresh_warehouse
    night_env(persons=40)
    landing = tmp_path / "landing"
    spec = CASES[case]
    source_id, name, data, rows = spec.make(landing)
    folder = landing / source_id / START.isoformat()
    for old in folder.iterdir():
        old.unlink()
    write_drop(folder, source_id, START, {name: data}, {name: rows})

    tracemalloc.start()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        report = ingest_source(engine, source_id, START)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    rss_growth = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) * 1024  # KiB on Linux

    assert report.status == "rejected", (report.status, report.reason)
    with engine.connect() as conn:
        drop = _one(conn, "SELECT status, reason FROM raw.drop WHERE source_id = :s", s=source_id)
        rejected = conn.execute(
            sa.text("SELECT file_name, line_no, reason FROM quarantine.rejected_drop WHERE source_id = :s"),
            {"s": source_id},
        ).all()
        alerts = conn.execute(
            sa.text("SELECT kind, message, quarantine_ref FROM audit.alert WHERE source_id = :s"),
            {"s": source_id},
        ).all()
        archived = _one(
            conn, "SELECT archive_uri, size_bytes FROM raw.file WHERE first_name_received = :n", n=name
        )
        loaded = {
            t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar()  # noqa: S608
            for t in (
                "staging.record",
                "core.source_record",
                "core.source_record_version",
                "quarantine.rejected_row",
            )
        }
        loads = conn.execute(sa.text("SELECT count(*) FROM staging.load WHERE status = 'loaded'")).scalar()

    # refused, with a reason that names the file (and the line) and says what is wrong
    assert drop.status == "rejected"
    assert len(rejected) == 1
    file_name, line_no, reason = rejected[0]
    assert file_name == name and name in reason and spec.reason in reason, reason
    if spec.line is not None:
        assert line_no == spec.line, (line_no, reason)
    assert len(reason) < 300 and "AAAA" not in reason and "\ufffd" not in reason  # no content quoted
    assert [a.kind for a in alerts] == ["drop_rejected"]
    assert name in alerts[0].message and "quarantine.rejected_drop" in alerts[0].quarantine_ref
    # the raw file is archived unchanged, and nothing of it is loaded
    assert archived.size_bytes == len(data)
    assert sha256_of(Path(archived.archive_uri)) == sha256_of(folder / name)
    assert loaded == dict.fromkeys(loaded, 0) and loads == 0
    # memory: a small multiple of the bytes delivered, never the size the file unpacks to
    bound = 64 * MiB + 6 * len(data)
    assert peak < bound, f"peak {peak / MiB:.0f} MiB for a {len(data) / MiB:.1f} MiB file"
    assert rss_growth < 256 * MiB + 6 * len(data), f"RSS grew by {rss_growth / MiB:.0f} MiB"
