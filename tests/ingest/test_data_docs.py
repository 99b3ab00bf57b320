"""Data Docs grow with the night, not with history: a night's docs step writes that night's pages and the
index, and leaves every earlier night's page as it was. The pages the headquarters page serves work under
its policy: no script, nothing from another host, no personal value, no broken link."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import sys
import warnings
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import sqlalchemy as sa

from ridni.contracts import load
from ridni.ingest import validate as v
from ridni.ingest.run import build_data_docs_for_night
from ridni.web import data
from ridni.web.app import create_app, docs_link

with warnings.catch_warnings():  # starlette's notice about its httpx-based client
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_parse import NPU, PERSONAL, SAMPLES, parse_sample  # noqa: E402

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


# ------------------------------------------------------------------------------------------ the served pages
class _Links(HTMLParser):
    """Every tag, and every src/href, of an HTML page."""

    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]


def _record(conn, outcome: v.ValidationOutcome) -> None:
    conn.execute(sa.text(
        "INSERT INTO audit.validation (source_id, extract_date, file_name, suite, success, rows_evaluated, "
        "rows_failed, summary) VALUES (:s, :n, :f, :suite, :ok, :ev, :bad, CAST(:summary AS jsonb))"),
        {"s": outcome.source_id, "n": outcome.extract_date, "f": outcome.file_name, "suite": outcome.suite_name,
         "ok": outcome.success, "ev": outcome.rows_evaluated, "bad": outcome.rows_failed,
         "summary": json.dumps(outcome.summary, default=str)})


def test_served_data_docs_have_no_script_no_other_host_and_no_personal_value(tmp_path, fresh_warehouse,
                                                                             monkeypatch):
    _, engine = fresh_warehouse
    docs = tmp_path / "data_docs"
    monkeypatch.setenv("RIDNI_DATA_DOCS", str(docs))
    night = FIRST
    bad_sex, bad_key = "Привид", NPU[0]["номер_звернення"]
    failing = parse_sample(tmp_path, "npu_appeals", [dict(NPU[0]), dict(NPU[1], стать=bad_sex),
                                                     dict(NPU[2], номер_звернення=bad_key)])
    with engine.begin() as conn:
        for outcome in _outcomes(tmp_path, night):
            _record(conn, outcome)
        _record(conn, v.validate(load("npu_appeals"), failing.rows, extract_date=night, manifest_rows=4,
                                 problems=failing.problems, file_name="npu_appeals_late.csv"))
    with engine.begin() as conn:
        indexes = {build_data_docs_for_night(conn, s, night, str(docs)) for s in SOURCES}
        uris = dict(conn.execute(sa.text("SELECT file_name, data_docs_uri FROM audit.validation")).all())
    pages_root = docs / "pages"
    assert indexes == {str((pages_root / night.isoformat() / "index.html").resolve())}

    app = create_app(user_dependency=lambda: "operator", reader=data.Reader(lambda: "postgresql://unused/none"))
    served = 0
    with TestClient(app) as client:
        for path in sorted(pages_root.rglob("*")):
            if not path.is_file():
                continue
            response = client.get("/data-docs/" + path.relative_to(pages_root).as_posix())
            assert response.status_code == 200, path
            assert "script-src 'none'" in response.headers["content-security-policy"]
            if path.suffix != ".html":
                continue
            served += 1
            parser = _Links()
            parser.feed(response.text)
            assert "script" not in parser.tags, path
            assert "stylesheet" in response.text and "link" in parser.tags, path  # styled, from this server
            for url in parser.urls:
                parts = urlsplit(url)
                assert not parts.scheme and not parts.netloc, (path, url)  # relative: this host only
                if parts.path:
                    target = client.get(str(PurePosixPath("/data-docs", path.relative_to(pages_root).parent,
                                                          parts.path)))
                    assert target.status_code == 200, (path, url)  # no broken link
            leaked = [value for value in (*PERSONAL, bad_sex) if value in response.text]
            assert not leaked, (path, leaked)
        night_index = client.get(f"/data-docs/{night.isoformat()}/index.html").text
        assert client.get("/data-docs/").status_code == 200
        # GX's own site (scripts, styles from a CDN) is written beside the pages, and not served
        assert (docs / "site" / "index.html").is_file()
        assert client.get("/data-docs/%2e%2e/site/index.html").status_code == 404
    # the index of nights, the night's index, a page per validation
    assert served == 2 + len(SOURCES) + 1
    rows = re.findall(r'<tr data-source="([a-z_]+)">.*?class="mark (pass|fail)"', night_index)
    assert sorted(rows) == [("npu_appeals", "fail"), ("npu_appeals", "pass"), ("ombudsman", "pass")]
    assert "row count 3 differs from the manifest&#x27;s 4" in night_index
    # each validation's Data Docs link is its own page, which the HQ page links to
    assert {Path(u).relative_to(pages_root.resolve()).as_posix() for u in uris.values()} == {
        f"{night}/npu_appeals/{SAMPLES['npu_appeals'][0]}.html", f"{night}/npu_appeals/npu_appeals_late.csv.html",
        f"{night}/ombudsman/{SAMPLES['ombudsman'][0]}.html"}
    link = docs_link("ombudsman", uris[SAMPLES["ombudsman"][0]], night)
    assert link == f"data-docs/{night}/ombudsman/{SAMPLES['ombudsman'][0]}.html"


def test_a_rerun_of_the_docs_step_writes_the_same_bytes(tmp_path, fresh_warehouse):
    _, engine = fresh_warehouse
    docs = tmp_path / "data_docs"
    with engine.begin() as conn:
        for outcome in _outcomes(tmp_path, FIRST):
            _record(conn, outcome)
    with engine.begin() as conn:
        build_data_docs_for_night(conn, "ombudsman", FIRST, str(docs))
    first = {p: p.read_bytes() for p in (docs / "pages").rglob("*") if p.is_file()}
    with engine.begin() as conn:
        build_data_docs_for_night(conn, "ombudsman", FIRST, str(docs))
    assert {p: p.read_bytes() for p in (docs / "pages").rglob("*") if p.is_file()} == first


def test_two_validations_of_one_file_in_a_night_get_a_page_each(tmp_path):
    from ridni.ingest import docs as pages

    summary = {"rows": 3, "rows_failed": 0, "rows_flagged": 0, "expectations": []}
    night = [pages.Validation(7, "ombudsman", FIRST, "ombudsman.csv", True, summary),
             pages.Validation(9, "ombudsman", FIRST, "ombudsman.csv", False, {**summary, "rows_failed": 3}),
             pages.Validation(8, "npu_appeals", FIRST, None, True, summary)]
    written = pages.write_night(tmp_path, FIRST, night, "ombudsman")
    root = tmp_path / "pages" / FIRST.isoformat()
    assert written == {7: root / "ombudsman" / "ombudsman.csv-7.html", 9: root / "ombudsman" / "ombudsman.csv-9.html"}
    index = (root / "index.html").read_text(encoding="utf-8")
    assert 'href="ombudsman/ombudsman.csv-7.html"' in index and 'href="ombudsman/ombudsman.csv-9.html"' in index
    assert 'href="npu_appeals/npu_appeals.html"' in index  # a drop validated as a whole: named by its source
    assert "(the whole drop)" in index
