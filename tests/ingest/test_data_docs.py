"""Data Docs grow with the night, not with history: a night's docs step writes that night's pages and the
index, and leaves every earlier night's page as it was."""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path

from ridni.contracts import load
from ridni.ingest import validate as v

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_parse import SAMPLES, parse_sample  # noqa: E402

FIRST = dt.date(2026, 11, 1)
SOURCES = ("npu_appeals", "ombudsman")


def _outcomes(tmp_path: Path, night: dt.date) -> list[v.ValidationOutcome]:
    out = []
    for source_id in SOURCES:
        parsed = parse_sample(tmp_path, source_id)
        n = len(parsed.rows)
        out.append(v.validate(load(source_id), parsed.rows, extract_date=night, manifest_rows=n, previous_rows=n,
                              problems=parsed.problems, file_name=SAMPLES[source_id][0]))
    return out


def _files(root: Path) -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


def test_a_nights_docs_write_only_that_nights_pages_and_the_index(tmp_path):
    docs = tmp_path / "data_docs"
    nights = [FIRST + dt.timedelta(days=i) for i in range(4)]
    for night in nights[:-1]:
        v.build_data_docs(_outcomes(tmp_path, night), docs)
    site = docs / "site"
    before = _files(site)
    # every file written from here on has a later mtime than any before
    past = min(before.values()) - 10**9
    for path in before:
        os.utime(path, ns=(past, past))
    before = _files(site)

    last = nights[-1]
    index = Path(v.build_data_docs(_outcomes(tmp_path, last), docs))
    after = _files(site)
    written = {p.relative_to(site) for p, mtime in after.items() if before.get(p) != mtime}
    pages = {p for p in written if p.parts[0] == "validations"}
    assert len(pages) == len(SOURCES)
    assert all(f"-{last.isoformat()}" in p.parts[-3] for p in pages), pages
    assert Path("index.html") in written
    # besides the night's validations: the index, the suites validated tonight, GX's own static assets
    others = written - pages - {Path("index.html")}
    assert all(p.parts[0] in ("expectations", "static") for p in others), others
    old_pages = [p for p in before if p.relative_to(site).parts[0] == "validations"]
    assert len(old_pages) == len(SOURCES) * 3
    assert all(after[p] == before[p] for p in old_pages)
    html = index.read_text(encoding="utf-8")
    assert all(f"{s}-{n.isoformat()}" in html for s in SOURCES for n in nights)  # old nights stay listed
