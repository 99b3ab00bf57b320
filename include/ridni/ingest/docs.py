"""ridni's own Data Docs pages: a night's validations as plain HTML that works under the page's policy.

The headquarters page serves these pages (``GET /data-docs/...``) under a Content-Security-Policy that
allows no script and nothing from another host. Great Expectations' own site needs both (its index
builds its lists with scripts, its styles and logo come from a CDN), so the pages served are rendered
here from the values-free summaries :func:`ridni.ingest.validate.validate` keeps in ``audit.validation``;
GX's own site stays on disk beside them (``RIDNI_DATA_DOCS/site``) for GX's tools.

Layout under ``RIDNI_DATA_DOCS/pages``::

    index.html                         the nights, newest first
    ridni.css                          the only stylesheet
    <night>/index.html                 the night's validations: source, file, mark, counts, link
    <night>/<source_id>/<file>.html    one validation: verdict, drop-level reasons, every expectation

A source's docs step writes its own validation pages of the night, the night's index and the list of
nights; nothing of another night is rewritten. Pages hold counts, percentages, rule names and file
names only, and no time of writing, so a rerun of a night writes the same bytes.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from html import escape
from pathlib import Path

PAGES = "pages"
STYLESHEET = "ridni.css"

CSS = """\
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 auto; max-width: 72rem;
       padding: 1rem 1.5rem 3rem; color: #1d232a; background: #fff; line-height: 1.4; }
h1 { font-size: 1.5rem; margin: 0.5rem 0 0.25rem; }
h2 { font-size: 1.15rem; margin-top: 1.75rem; }
nav { font-size: 0.9rem; margin-bottom: 0.5rem; }
a { color: #0b57a4; }
table { border-collapse: collapse; width: 100%; margin: 0.5rem 0 1rem; font-size: 0.92rem; }
th, td { border-bottom: 1px solid #d8dde3; padding: 0.35rem 0.6rem; text-align: left; vertical-align: top; }
th { background: #f1f4f7; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.mark { font-weight: 700; white-space: nowrap; }
.pass { color: #1a7f37; }
.fail { color: #b42318; }
.flag { color: #9a6700; }
.verdict { display: inline-block; padding: 0.2rem 0.7rem; border-radius: 0.3rem; font-weight: 700; }
.verdict.pass { background: #dafbe1; }
.verdict.fail { background: #ffebe9; }
dl { display: grid; grid-template-columns: max-content auto; gap: 0.2rem 1rem; }
dt { font-weight: 600; }
dd { margin: 0; }
code { font-size: 0.88rem; }
.muted { color: #57606a; }
"""

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True)
class Validation:
    """One row of ``audit.validation``, as the pages show it (the summary without GX's raw result)."""

    id: int
    source_id: str
    night: dt.date
    file_name: str | None
    success: bool
    summary: dict

    @property
    def page_name(self) -> str:
        return _SAFE_NAME.sub("_", self.file_name or self.source_id).lstrip(".") or self.source_id


def _pages(validations: list[Validation]) -> dict[int, Path]:
    """Each validation's page, relative to the pages folder: named by its file (by its source for a drop
    validated as a whole), with the validation's id added where two of the night would share a name."""
    names: dict[tuple[str, str], int] = {}
    for val in validations:
        names[val.source_id, val.page_name] = names.get((val.source_id, val.page_name), 0) + 1
    return {val.id: Path(val.night.isoformat()) / val.source_id
            / (f"{val.page_name}.html" if names[val.source_id, val.page_name] == 1
               else f"{val.page_name}-{val.id}.html") for val in validations}


def pages_dir(docs_dir: str | os.PathLike) -> Path:
    return Path(docs_dir) / PAGES


def write_night(docs_dir: str | os.PathLike, night: dt.date, validations: list[Validation],
                source_id: str) -> dict[int, Path]:
    """Write ``source_id``'s validation pages of ``night``, the night's index (from every validation of the
    night in ``validations``) and the list of nights; return each written validation's page by id."""
    root = pages_dir(docs_dir)
    root.mkdir(parents=True, exist_ok=True)
    _write(root / STYLESHEET, CSS)
    written = {}
    pages = _pages(validations)
    for val in validations:
        if val.source_id == source_id:
            target = root / pages[val.id]
            target.parent.mkdir(parents=True, exist_ok=True)
            _write(target, _validation_page(val))
            written[val.id] = target
    _write(root / night.isoformat() / "index.html", _night_index(night, validations))
    _write(root / "index.html", _nights_index(root))
    return written


def _write(path: Path, text: str) -> None:
    """Write ``path`` unless it already holds ``text`` (a rerun leaves the file, and its time, alone)."""
    data = text.encode("utf-8")
    if path.is_file() and path.read_bytes() == data:
        return
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def _document(title: str, depth: int, body: str) -> str:
    up = "../" * depth
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{escape(title)}</title>\n"
            f'<link rel="stylesheet" href="{up}{STYLESHEET}">\n</head>\n<body>\n{body}\n</body>\n</html>\n')


def _mark(ok: bool) -> str:
    return ('<span class="mark pass">&#10003; passed</span>' if ok
            else '<span class="mark fail">&#10007; failed</span>')


def _num(value) -> str:
    if value is None:
        return "&mdash;"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return f"{value:,}" if isinstance(value, int) else escape(str(value))


def _code_spans(text: str) -> str:
    """``text`` escaped, its Markdown code spans (as the suite's descriptions write names) as ``<code>``."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escape(text))


def _night_index(night: dt.date, validations: list[Validation]) -> str:
    rows = []
    pages = _pages(validations)
    for val in sorted(validations, key=lambda x: (x.source_id, x.file_name or "", x.id)):
        s = val.summary
        reasons = s.get("drop_failures") or []
        link = pages[val.id].relative_to(night.isoformat()).as_posix()
        rows.append(
            f'<tr data-source="{escape(val.source_id)}"><td>{escape(val.source_id)}</td>'
            f"<td><code>{escape(val.file_name or '(the whole drop)')}</code></td><td>{_mark(val.success)}</td>"
            f'<td class="num">{_num(s.get("rows"))}</td><td class="num">{_num(s.get("rows_failed"))}</td>'
            f'<td class="num">{_num(s.get("rows_flagged"))}</td>'
            f"<td>{escape('; '.join(reasons)) if reasons else '&mdash;'}</td>"
            f'<td><a href="{escape(link)}">validation</a></td></tr>')
    failed = sum(not val.success for val in validations)
    headline = (f"{len(validations)} validation{'s' if len(validations) != 1 else ''}, "
                + (f'<span class="fail">{failed} failed</span>' if failed else '<span class="pass">all passed</span>'))
    body = (f'<nav><a href="../index.html">All nights</a></nav>\n'
            f"<h1>Data Docs: validations of {night.isoformat()}</h1>\n<p>{headline}</p>\n"
            "<table class=\"validations\">\n<thead><tr><th>Source</th><th>File</th><th>Result</th>"
            '<th class="num">Rows</th><th class="num">Rows failed</th><th class="num">Rows flagged</th>'
            "<th>Drop-level reasons</th><th>Page</th></tr></thead>\n<tbody>\n" + "\n".join(rows)
            + "\n</tbody>\n</table>\n"
            '<p class="muted">Counts and percentages only: no value from a delivered file appears here. A failed '
            "row goes to quarantine with its file and line; a drop-level reason refuses the drop.</p>")
    return _document(f"Data Docs {night.isoformat()}", 1, body)


def _nights_index(root: Path) -> str:
    nights = sorted((p.name for p in root.iterdir()
                     if p.is_dir() and re.fullmatch(r"\d{4}-\d{2}-\d{2}", p.name) and (p / "index.html").is_file()),
                    reverse=True)
    items = "\n".join(f'<li><a href="{n}/index.html">{n}</a></li>' for n in nights)
    body = (f"<h1>Data Docs</h1>\n<p>The validations of each night's drops, by night (newest first).</p>\n"
            f'<ul class="nights">\n{items}\n</ul>')
    return _document("Data Docs", 0, body)


def _validation_page(val: Validation) -> str:
    s = val.summary
    reasons = s.get("drop_failures") or []
    facts = [("Source", escape(val.source_id)), ("File", f"<code>{escape(val.file_name or '(the whole drop)')}</code>"),
             ("Night", val.night.isoformat()), ("Suite", f"<code>{escape(str(s.get('suite', '')))}</code>"),
             ("Rows", _num(s.get("rows"))), ("Rows failed (quarantined)", _num(s.get("rows_failed"))),
             ("Rows flagged (loaded)", _num(s.get("rows_flagged"))),
             ("Share of bad rows", f"{100 * float(s.get('bad_row_share') or 0):.2f} % (refused above "
                                   f"{100 * float(s.get('max_bad_row_share') or 0):.0f} %)"),
             ("Rows in the manifest", _num(s.get("manifest_rows"))),
             ("Rows in the previous drop", _num(s.get("previous_rows")))]
    dl = "\n".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts)
    descriptions = {}
    for r in (s.get("gx_result") or {}).get("results", []):
        cfg = r.get("expectation_config") or {}
        name = (cfg.get("meta") or {}).get("ridni_check")
        if name and cfg.get("description"):
            descriptions[name] = cfg["description"]
            kwargs = cfg.get("kwargs") or {}
            if cfg.get("type") == "expect_table_row_count_to_be_between":  # the night's bounds, as run
                low, high = kwargs.get("min_value"), kwargs.get("max_value")
                descriptions[name] += (": no bound tonight" if low is None and high is None else
                                       f": {low:,}" if low == high else
                                       f": {'' if low is None else f'{low:,}'} to "
                                       f"{'' if high is None else f'{high:,}'}")
    rows = []
    for e in s.get("expectations", []):
        # the fields a check reads; the suite's helper columns (``_age_at_extract``...) are named by the check
        named = [e.get("column"), *(e.get("column_list") or []), e.get("column_B"), e.get("column_A")]
        columns = ", ".join(c for c in named if c and not c.startswith("_"))
        ok = bool(e.get("success")) and not e.get("raised_exception")
        percent = e.get("unexpected_percent")
        rows.append(
            f"<tr><td>{_mark(ok)}</td><td><code>{escape(str(e.get('name')))}</code></td>"
            f"<td>{_code_spans(descriptions.get(e.get('name'), ''))}</td><td><code>{escape(columns)}</code></td>"
            f'<td class="num">{_num(e.get("unexpected_count"))}</td>'
            f'<td class="num">{"&mdash;" if percent is None else f"{float(percent):.2f} %"}</td>'
            f'<td class="num">{_num(e.get("observed_value"))}</td></tr>')
    problems = "".join(f'<tr><td><code>{escape(k)}</code></td><td class="num">{_num(n)}</td></tr>'
                       for k, n in sorted((s.get("parse_problems") or {}).items()))
    files = s.get("files") or []  # a drop's files validated together
    marked = [f for f in files if f.get("rows_failed") or f.get("rows_flagged")]
    file_rows = "".join(
        f'<tr><td><code>{escape(str(f.get("file_name")))}</code></td><td>{_mark(not f.get("rows_failed"))}</td>'
        f'<td class="num">{_num(f.get("rows"))}</td><td class="num">{_num(f.get("rows_failed"))}</td>'
        f'<td class="num">{_num(f.get("rows_flagged"))}</td></tr>' for f in marked)
    verdict = ('<p><span class="verdict pass">&#10003; passed</span></p>' if val.success
               else '<p><span class="verdict fail">&#10007; failed</span></p>')
    body = (f'<nav><a href="../../index.html">All nights</a> &rsaquo; '
            f'<a href="../index.html">{val.night.isoformat()}</a></nav>\n'
            f"<h1>Validation of {escape(val.source_id)}</h1>\n{verdict}\n<dl>\n{dl}\n</dl>\n"
            + ("<h2>Drop-level reasons</h2>\n<ul>" + "".join(f"<li>{escape(r)}</li>" for r in reasons) + "</ul>\n"
               if reasons else "")
            + (f"<h2>Files</h2>\n<p>{len(files):,} files validated together; "
               + (f"{len(marked):,} with failed or flagged rows:</p>\n<table class=\"files\">\n<thead><tr>"
                  "<th>File</th><th>Result</th><th class=\"num\">Rows</th><th class=\"num\">Rows failed</th>"
                  "<th class=\"num\">Rows flagged</th></tr></thead>\n<tbody>" + file_rows + "</tbody>\n</table>\n"
                  if marked else "every row of every file passed.</p>\n")
               if files else "")
            + "<h2>Expectations</h2>\n<table class=\"expectations\">\n<thead><tr><th>Result</th><th>Check</th>"
            "<th>Meaning</th><th>Column</th><th class=\"num\">Unexpected rows</th><th class=\"num\">Unexpected</th>"
            "<th class=\"num\">Observed</th></tr></thead>\n<tbody>\n" + "\n".join(rows) + "\n</tbody>\n</table>\n"
            + ("<h2>Problems found while parsing</h2>\n<table class=\"problems\">\n<thead><tr><th>Problem</th>"
               "<th class=\"num\">Rows</th></tr></thead>\n<tbody>" + problems + "</tbody>\n</table>\n"
               if problems else ""))
    return _document(f"Validation of {val.source_id} {val.night.isoformat()}", 2, body)
