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
from html import escape
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import sqlalchemy as sa

from ridni.contracts import load
from ridni.ingest import validate as v
from ridni.ingest.run import build_data_docs_for_night
from ridni.web import data, labels
from ridni.web.app import create_app, docs_link
from ridni.web.i18n import COOKIE, LANGUAGES, language

with warnings.catch_warnings():  # starlette's notice about its httpx-based client
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_parse import NPU, PERSONAL, SAMPLES, parse_sample  # noqa: E402

FIRST = dt.date(2026, 11, 1)
SOURCES = ("npu_appeals", "ombudsman")
UK, EN = language("uk"), language("en")


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
    assert all(f"{s}-{n.isoformat()}" in html for s in SOURCES for n in nights)  # the week's nights stay listed


def test_a_nights_docs_compile_no_template_an_earlier_build_compiled(tmp_path, monkeypatch):
    """GX makes a Jinja environment per view and build; the site's views keep the compiled templates."""
    import jinja2

    compiled = []
    compile_template = jinja2.Environment.compile

    def counting(self, source, name=None, *args, **kwargs):
        compiled.append(name)
        return compile_template(self, source, name, *args, **kwargs)

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # (Jinja's cache folder is the user's own, under it)
    monkeypatch.setattr("tempfile.tempdir", None)
    from ridni.ingest import gx_views

    gx_views._compiled_templates.cache_clear()
    v.build_data_docs(_outcomes(tmp_path, FIRST), tmp_path / "data_docs")
    assert len(compiled) > 10  # the first build of this machine compiles the pages' templates
    compiled.clear()
    index = Path(v.build_data_docs(_outcomes(tmp_path, FIRST + dt.timedelta(days=1)), tmp_path / "data_docs"))
    assert compiled == [] and f"npu_appeals-{(FIRST + dt.timedelta(days=1)).isoformat()}" in index.read_text()


def test_gx_s_own_site_holds_the_last_week(tmp_path, monkeypatch):
    """GX rebuilds its index over every result its store holds: the store keeps the last GX_SITE_NIGHTS
    nights, so the index's cost stops growing (GX takes older nights' pages off its site; ridni's own
    pages keep every night)."""
    monkeypatch.setattr(v, "GX_SITE_NIGHTS", 2)
    docs = tmp_path / "data_docs"
    nights = [FIRST + dt.timedelta(days=i) for i in range(4)]
    for night in nights:
        index = Path(v.build_data_docs(_outcomes(tmp_path, night), docs))
    html = index.read_text(encoding="utf-8")
    listed = [n for n in nights if any(f"{s}-{n.isoformat()}" in html for s in SOURCES)]
    assert listed == nights[-2:]
    stored = list((docs / "gx" / "uncommitted" / "validations").rglob("*.json"))
    assert len(stored) == 2 * len(SOURCES)
    pages = {p.parts[-3] for p in (docs / "site" / "validations").rglob("*.html")}
    assert pages == {f"{s}-{n.isoformat()}" for s in SOURCES for n in nights[-2:]}
    # nor do their folders stay behind (GX walks every folder of its stores on every build)
    for store in (docs / "gx" / "uncommitted" / "validations", docs / "site" / "validations"):
        folders = [p for p in store.rglob("*") if p.is_dir()]
        assert all(any(f.iterdir()) for f in folders)
        assert not any(n.isoformat() in str(f) for f in folders for n in nights[:-2]), folders


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
    assert indexes == {str((pages_root / "uk" / night.isoformat() / "index.html").resolve())}

    app = create_app(user_dependency=lambda: "operator", reader=data.Reader(lambda: "postgresql://unused/none"))
    served = {code: 0 for code in LANGUAGES}
    with TestClient(app) as client:
        for code in LANGUAGES:
            client.get("/data-docs/index.html", params={"lang": code})  # the reader chooses, the cookie keeps it
            home = pages_root / code
            for path in sorted(home.rglob("*")):
                if not path.is_file():
                    continue
                here = path.relative_to(home)
                response = client.get("/data-docs/" + here.as_posix())
                assert response.status_code == 200, path
                assert "script-src 'none'" in response.headers["content-security-policy"]
                if path.suffix != ".html":
                    continue
                served[code] += 1
                assert f'<html lang="{code}">' in response.text, path  # the reader's language is served
                parser = _Links()
                parser.feed(response.text)
                assert "script" not in parser.tags, path
                assert "stylesheet" in response.text and "link" in parser.tags, path  # styled, from this server
                for url in parser.urls:
                    parts = urlsplit(url)
                    assert not parts.scheme and not parts.netloc, (path, url)  # relative: this host only
                    target = client.get(str(PurePosixPath("/data-docs", here.parent, parts.path or here.name))
                                        + (f"?{parts.query}" if parts.query else ""))
                    assert target.status_code == 200, (path, url)  # no broken link
                    if parts.query:  # the language switch: the same page in the other language, then kept
                        other = parts.query.removeprefix("lang=")
                        assert other != code and f'<html lang="{other}">' in target.text, (path, url)
                        assert target.cookies.get(COOKIE) == other
                        client.get("/data-docs/index.html", params={"lang": code})
                leaked = [value for value in (*PERSONAL, bad_sex) if value in response.text]
                assert not leaked, (path, leaked)
        night_index = client.get(f"/data-docs/{night.isoformat()}/index.html", params={"lang": "en"}).text
        client.cookies.clear()
        assert '<html lang="uk">' in client.get("/data-docs/").text  # a new reader: Ukrainian
        # GX's own site (scripts, styles from a CDN) is written beside the pages, and not served
        assert (docs / "site" / "index.html").is_file()
        assert client.get("/data-docs/%2e%2e/%2e%2e/site/index.html").status_code == 404
        assert client.get("/data-docs/%2e%2e/en/index.html").status_code == 404  # one language's folder only
    # in each language: the index of nights, the night's index, a page per validation
    assert served == {code: 2 + len(SOURCES) + 1 for code in LANGUAGES}
    rows = re.findall(r'<tr data-source="([a-z_]+)">.*?class="mark (pass|fail)"', night_index)
    assert sorted(rows) == [("npu_appeals", "fail"), ("npu_appeals", "pass"), ("ombudsman", "pass")]
    assert "row count 3 differs from the manifest&#x27;s 4" in night_index
    # each validation's Data Docs link is its own page, which the HQ page links to in the reader's language
    assert {Path(u).relative_to((pages_root / "uk").resolve()).as_posix() for u in uris.values()} == {
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
    root = tmp_path / "pages" / "uk" / FIRST.isoformat()
    assert written == {7: root / "ombudsman" / "ombudsman.csv-7.html", 9: root / "ombudsman" / "ombudsman.csv-9.html"}
    for code, whole_drop in (("uk", "(уся передача)"), ("en", "(the whole drop)")):
        index = (tmp_path / "pages" / code / FIRST.isoformat() / "index.html").read_text(encoding="utf-8")
        assert 'href="ombudsman/ombudsman.csv-7.html"' in index and 'href="ombudsman/ombudsman.csv-9.html"' in index
        assert 'href="npu_appeals/npu_appeals.html"' in index  # a drop validated as a whole: named by its source
        assert whole_drop in index


def test_pages_are_written_in_ukrainian_and_english_with_labels_and_numbers_of_each(tmp_path):
    """Every page in both languages: the HQ page's catalog, Babel's numbers and dates, the sources' labels,
    and a switch to the same page in the other language."""
    from ridni.ingest import docs as pages

    summary = {"rows": 12345, "rows_failed": 1234, "rows_flagged": 0, "bad_row_share": 0.1, "max_bad_row_share": 0.2,
               "manifest_rows": 12345, "suite": "ridni.ombudsman",
               "expectations": [{"name": "sex_known", "column": "sex", "success": False,
                                 "unexpected_count": 1234, "unexpected_percent": 9.99595}]}
    night = [pages.Validation(1, "ombudsman", FIRST, "ombudsman.csv", False, summary)]
    pages.write_night(tmp_path, FIRST, night, "ombudsman")
    root = tmp_path / "pages"
    written = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    assert written == sorted(f"{code}/{name}" for code in LANGUAGES for name in (
        "index.html", "ridni.css", f"{FIRST}/index.html", f"{FIRST}/ombudsman/ombudsman.csv.html"))
    words = {"uk": ("Перевірка", "не пройшли: 1", "Усі ночі"), "en": ("Validation of", "1 failed", "All nights")}
    for lang in (UK, EN):
        validation = (root / lang.code / str(FIRST) / "ombudsman" / "ombudsman.csv.html").read_text(encoding="utf-8")
        index = (root / lang.code / str(FIRST) / "index.html").read_text(encoding="utf-8")
        nights = (root / lang.code / "index.html").read_text(encoding="utf-8")
        source = escape(labels.source("ombudsman", lang))
        assert f'<html lang="{lang.code}">' in validation
        assert f"<title>{escape(words[lang.code][0])}" in validation and f"{source}, {lang.date(FIRST)}</title>" in validation
        assert f"<dd>{source}</dd>" in validation and f"<td>{source}</td>" in index
        for number in (lang.number(12345), lang.number(1234), f"{lang.number(10.0, 2)}\u00a0%",
                       f"{lang.number(20, 0)}\u00a0%", f"{lang.number(9.99595, 2)}\u00a0%"):
            assert number in validation, (lang.code, number)
        assert f'<td class="num">{lang.number(12345)}</td>' in index
        assert words[lang.code][1] in index and words[lang.code][2] in index
        assert f">{lang.date(FIRST)}</a>" in nights and f'href="{FIRST}/index.html"' in nights
        other = "en" if lang.code == "uk" else "uk"
        for page in (validation, index, nights):
            assert f'href="?lang={other}"' in page and "<script" not in page
    assert UK.number(12345) != EN.number(12345) and UK.date(FIRST) != EN.date(FIRST)  # the test tells them apart
