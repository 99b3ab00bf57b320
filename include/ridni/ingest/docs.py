"""ridni's own Data Docs pages: a night's validations as plain HTML that works under the page's policy.

The headquarters page serves these pages (``GET /data-docs/...``) under a Content-Security-Policy that
allows no script and nothing from another host. Great Expectations' own site needs both (its index
builds its lists with scripts, its styles and logo come from a CDN), so the pages served are rendered
here from the values-free summaries :func:`ridni.ingest.validate.validate` keeps in ``audit.validation``;
GX's own site stays on disk beside them (``RIDNI_DATA_DOCS/site``, the last week's validations:
:data:`ridni.ingest.validate.GX_SITE_NIGHTS`) for GX's tools.

Every page is written in each of the pages' languages (:data:`ridni.web.i18n.LANGUAGES`: Ukrainian, the
default, and English), through the same Babel catalog, number and date formatting and source labels
(:mod:`ridni.web.labels`) as the headquarters page. Layout under ``RIDNI_DATA_DOCS/pages``::

    <lang>/index.html                         the nights, newest first
    <lang>/ridni.css                          the only stylesheet
    <lang>/<night>/index.html                 the night's validations: source, file, mark, counts, link
    <lang>/<night>/<source_id>/<file>.html    one validation: verdict, drop-level reasons, every expectation

The headquarters page serves ``/data-docs/<path>`` from the reader's language folder, so a page's links
stay in its language, and each page's language switch (``?lang=``) opens the same page in the other one.

A source's docs step writes its own validation pages of the night, the night's index and the list of
nights; nothing of another night is rewritten. Pages hold counts, percentages, rule names and file
names only, and no time of writing, so a rerun of a night writes the same bytes. Rule descriptions and
drop-level reasons are the suite's and the validation's own (English) texts.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from html import escape
from pathlib import Path

from ridni.web import i18n, labels
from ridni.web.i18n import LANGUAGES, N_, Language

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
.lang { float: right; font-size: 0.9rem; margin: 0.5rem 0; }
"""

# the tables' columns: heading (translated where shown), and whether it is a number
NIGHT_COLUMNS = ((N_("Source"), False), (N_("File"), False), (N_("Result"), False), (N_("Rows"), True),
                 (N_("Rows failed"), True), (N_("Rows flagged"), True), (N_("Drop-level reasons"), False),
                 (N_("Page"), False))
FILE_COLUMNS = ((N_("File"), False), (N_("Result"), False), (N_("Rows"), True), (N_("Rows failed"), True),
                (N_("Rows flagged"), True))
EXPECTATION_COLUMNS = ((N_("Result"), False), (N_("Check"), False), (N_("Meaning"), False), (N_("Column"), False),
                       (N_("Unexpected rows"), True), (N_("Unexpected"), True), (N_("Observed"), True))
PROBLEM_COLUMNS = ((N_("Problem"), False), (N_("Rows"), True))

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
    """The served pages' folder: a folder per language in it."""
    return Path(docs_dir) / PAGES


def night_index(docs_dir: str | os.PathLike, night: dt.date, code: str = i18n.DEFAULT) -> Path:
    """The night's index page in the language ``code``."""
    return pages_dir(docs_dir) / code / night.isoformat() / "index.html"


def write_night(docs_dir: str | os.PathLike, night: dt.date, validations: list[Validation],
                source_id: str) -> dict[int, Path]:
    """Write, in each language, ``source_id``'s validation pages of ``night``, the night's index (from every
    validation of the night in ``validations``) and the list of nights; return each written validation's
    page in the default language (Ukrainian) by id."""
    written = {}
    pages = _pages(validations)
    for code in LANGUAGES:
        lang = i18n.language(code)
        root = pages_dir(docs_dir) / code
        root.mkdir(parents=True, exist_ok=True)
        _write(root / STYLESHEET, CSS)
        for val in validations:
            if val.source_id == source_id:
                target = root / pages[val.id]
                target.parent.mkdir(parents=True, exist_ok=True)
                _write(target, _validation_page(val, lang))
                if code == i18n.DEFAULT:
                    written[val.id] = target
        _write(root / night.isoformat() / "index.html", _night_index(night, validations, lang))
        nights = root / "index.html"
        # the list of every night: written by the night's first docs step, not by each source's again
        if not (nights.is_file() and f'href="{night.isoformat()}/index.html"' in nights.read_text(encoding="utf-8")):
            _write(nights, _nights_index(root, lang))
    return written


def _write(path: Path, text: str) -> None:
    """Write ``path`` unless it already holds ``text`` (a rerun leaves the file, and its time, alone)."""
    data = text.encode("utf-8")
    if path.is_file() and path.read_bytes() == data:
        return
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")  # a writer's own, then renamed over the page at once
    tmp.write_bytes(data)
    tmp.replace(path)


def _language_switch(lang: Language) -> str:
    """Links to this page in the other languages: the server keeps the choice (``?lang=``) in its cookie."""
    links = [f'<strong lang="{code}">{escape(name)}</strong>' if code == lang.code else
             f'<a lang="{code}" hreflang="{code}" href="?lang={code}">{escape(name)}</a>'
             for code, name in LANGUAGES.items()]
    return f'<p class="lang">{" | ".join(links)}</p>\n'


def _document(title: str, depth: int, body: str, lang: Language) -> str:
    up = "../" * depth
    return (f'<!DOCTYPE html>\n<html lang="{lang.code}">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{escape(title)}</title>\n"
            f'<link rel="stylesheet" href="{up}{STYLESHEET}">\n</head>\n<body>\n{_language_switch(lang)}{body}\n'
            "</body>\n</html>\n")


def _verdict(ok: bool, lang: Language, cls: str = "mark") -> str:
    """A pass/fail mark (``cls`` "mark") or a page's verdict badge (``cls`` "verdict")."""
    text = lang.gettext("passed") if ok else lang.gettext("failed")
    return f'<span class="{cls} {"pass" if ok else "fail"}">{"&#10003;" if ok else "&#10007;"} {escape(text)}</span>'


def _thead(columns, lang: Language) -> str:
    cells = "".join(("<th class=\"num\">" if num else "<th>") + escape(lang.gettext(msgid)) + "</th>"
                    for msgid, num in columns)
    return f"<thead><tr>{cells}</tr></thead>"


def _num(value, lang: Language) -> str:
    if value is None:
        return "&mdash;"
    if isinstance(value, bool):
        return escape(str(value))
    if isinstance(value, float):
        return escape(lang.number(value, 2))
    return escape(lang.number(value)) if isinstance(value, int) else escape(str(value))


def _percent(share, lang: Language, digits: int = 2) -> str:
    return f"{escape(lang.number(float(share), digits))}\u00a0%"


def _code_spans(text: str) -> str:
    """``text`` escaped, its Markdown code spans (as the suite's descriptions write names) as ``<code>``."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escape(text))


def _file(val: Validation, lang: Language) -> str:
    return escape(val.file_name) if val.file_name else escape(lang.gettext("(the whole drop)"))


def _night_index(night: dt.date, validations: list[Validation], lang: Language) -> str:
    _ = lang.gettext
    rows = []
    pages = _pages(validations)
    page_text = _("validation")
    for val in sorted(validations, key=lambda x: (x.source_id, x.file_name or "", x.id)):
        s = val.summary
        reasons = s.get("drop_failures") or []
        link = pages[val.id].relative_to(night.isoformat()).as_posix()
        rows.append(
            f'<tr data-source="{escape(val.source_id)}"><td>{escape(labels.source(val.source_id, lang))}</td>'
            f"<td><code>{_file(val, lang)}</code></td><td>{_verdict(val.success, lang)}</td>"
            f'<td class="num">{_num(s.get("rows"), lang)}</td><td class="num">{_num(s.get("rows_failed"), lang)}</td>'
            f'<td class="num">{_num(s.get("rows_flagged"), lang)}</td>'
            f"<td>{escape('; '.join(reasons)) if reasons else '&mdash;'}</td>"
            f'<td><a href="{escape(link)}">{escape(page_text)}</a></td></tr>')
    failed = sum(not val.success for val in validations)
    count = lang.ngettext("%(n)s validation", "%(n)s validations", len(validations)) % {
        "n": lang.number(len(validations))}
    outcome = _("%(n)s failed") % {"n": lang.number(failed)} if failed else _("all passed")
    headline = f'{escape(count)}, <span class="{"fail" if failed else "pass"}">{escape(outcome)}</span>'
    night_text = lang.date(night)
    note = _("Counts and percentages only: no value from a delivered file appears here. A failed row goes to "
             "quarantine with its file and line; a drop-level reason refuses the drop.")
    all_nights = _("All nights")
    heading = _("Data Docs: validations of %(night)s") % {"night": night_text}
    body = (f'<nav><a href="../index.html">{escape(all_nights)}</a></nav>\n'
            f"<h1>{escape(heading)}</h1>\n<p>{headline}</p>\n"
            f'<table class="validations">\n{_thead(NIGHT_COLUMNS, lang)}\n<tbody>\n'
            + "\n".join(rows) + "\n</tbody>\n</table>\n"
            + f'<p class="muted">{escape(note)}</p>')
    return _document(_("Data Docs, %(night)s") % {"night": night_text}, 1, body, lang)


def _nights_index(root: Path, lang: Language) -> str:
    _ = lang.gettext
    nights = sorted((p.name for p in root.iterdir()
                     if p.is_dir() and re.fullmatch(r"\d{4}-\d{2}-\d{2}", p.name) and (p / "index.html").is_file()),
                    reverse=True)
    items = "\n".join(f'<li><a href="{n}/index.html">{escape(lang.date(dt.date.fromisoformat(n)))}</a></li>'
                      for n in nights)
    title, intro = _("Data Docs"), _("The validations of each night’s drops, by night (newest first).")
    body = f'<h1>{escape(title)}</h1>\n<p>{escape(intro)}</p>\n<ul class="nights">\n{items}\n</ul>'
    return _document(title, 0, body, lang)


def _bounds(low, high, lang: Language) -> str:
    """A row-count expectation's bounds of the night, as run, in signs rather than words: they follow the
    suite's own (English) description in either language."""
    if low is None and high is None:
        return "&mdash;"
    if low == high:
        return escape(lang.number(low))
    if low is None or high is None:
        return f"{'&le;' if low is None else '&ge;'} {escape(lang.number(high if low is None else low))}"
    return f"{escape(lang.number(low))}&ndash;{escape(lang.number(high))}"


def _validation_page(val: Validation, lang: Language) -> str:
    _ = lang.gettext
    s = val.summary
    reasons = s.get("drop_failures") or []
    refused_above = _("%(share)s (refused above %(limit)s)") % {
        "share": _percent(100 * float(s.get("bad_row_share") or 0), lang),
        "limit": _percent(100 * float(s.get("max_bad_row_share") or 0), lang, 0)}
    facts = [(_("Source"), escape(labels.source(val.source_id, lang))), (_("File"), f"<code>{_file(val, lang)}</code>"),
             (_("Night"), escape(lang.date(val.night))), (_("Suite"), f"<code>{escape(str(s.get('suite', '')))}</code>"),
             (_("Rows"), _num(s.get("rows"), lang)), (_("Rows failed (quarantined)"), _num(s.get("rows_failed"), lang)),
             (_("Rows flagged (loaded)"), _num(s.get("rows_flagged"), lang)),
             (_("Share of bad rows"), refused_above),
             (_("Rows in the manifest"), _num(s.get("manifest_rows"), lang)),
             (_("Rows in the previous drop"), _num(s.get("previous_rows"), lang))]
    dl = "\n".join(f"<dt>{escape(k)}</dt><dd>{v}</dd>" for k, v in facts)
    descriptions, bounds = {}, {}
    for r in (s.get("gx_result") or {}).get("results", []):
        cfg = r.get("expectation_config") or {}
        name = (cfg.get("meta") or {}).get("ridni_check")
        if name and cfg.get("description"):
            descriptions[name] = cfg["description"]
            kwargs = cfg.get("kwargs") or {}
            if cfg.get("type") == "expect_table_row_count_to_be_between":  # the night's bounds, as run
                bounds[name] = _bounds(kwargs.get("min_value"), kwargs.get("max_value"), lang)
    rows = []
    for e in s.get("expectations", []):
        # the fields a check reads; the suite's helper columns (``_age_at_extract``...) are named by the check
        named = [e.get("column"), *(e.get("column_list") or []), e.get("column_B"), e.get("column_A")]
        columns = ", ".join(c for c in named if c and not c.startswith("_"))
        ok = bool(e.get("success")) and not e.get("raised_exception")
        percent = e.get("unexpected_percent")
        rows.append(
            f"<tr><td>{_verdict(ok, lang)}</td><td><code>{escape(str(e.get('name')))}</code></td>"
            f"<td>{_code_spans(descriptions.get(e.get('name'), ''))}"
            f"{': ' + bounds[e.get('name')] if e.get('name') in bounds else ''}</td><td><code>{escape(columns)}</code></td>"
            f'<td class="num">{_num(e.get("unexpected_count"), lang)}</td>'
            f'<td class="num">{"&mdash;" if percent is None else _percent(percent, lang)}</td>'
            f'<td class="num">{_num(e.get("observed_value"), lang)}</td></tr>')
    problems = "".join(f'<tr><td><code>{escape(k)}</code></td><td class="num">{_num(n, lang)}</td></tr>'
                       for k, n in sorted((s.get("parse_problems") or {}).items()))
    files = s.get("files") or []  # a drop's files validated together
    marked = [f for f in files if f.get("rows_failed") or f.get("rows_flagged")]
    file_rows = "".join(
        f'<tr><td><code>{escape(str(f.get("file_name")))}</code></td><td>{_verdict(not f.get("rows_failed"), lang)}</td>'
        f'<td class="num">{_num(f.get("rows"), lang)}</td><td class="num">{_num(f.get("rows_failed"), lang)}</td>'
        f'<td class="num">{_num(f.get("rows_flagged"), lang)}</td></tr>' for f in marked)
    verdict = f"<p>{_verdict(val.success, lang, 'verdict')}</p>"
    source = labels.source(val.source_id, lang)
    files_text = lang.ngettext("%(n)s file validated together;", "%(n)s files validated together;", len(files)) % {
        "n": lang.number(len(files))}
    marked_text = _("%(n)s with failed or flagged rows:") % {"n": lang.number(len(marked))}
    all_passed = _("every row of every file passed.")
    all_nights, heading = _("All nights"), _("Validation of %(source)s") % {"source": source}
    headings = {"reasons": _("Drop-level reasons"), "files": _("Files"), "expectations": _("Expectations"),
                "problems": _("Problems found while parsing")}
    h = {k: escape(v) for k, v in headings.items()}
    body = (f'<nav><a href="../../index.html">{escape(all_nights)}</a> &rsaquo; '
            f'<a href="../index.html">{escape(lang.date(val.night))}</a></nav>\n'
            f"<h1>{escape(heading)}</h1>\n{verdict}\n<dl>\n{dl}\n</dl>\n"
            + (f"<h2>{h['reasons']}</h2>\n<ul>"
               + "".join(f"<li>{escape(r)}</li>" for r in reasons) + "</ul>\n" if reasons else "")
            + (f"<h2>{h['files']}</h2>\n<p>{escape(files_text)} "
               + (f'{escape(marked_text)}</p>\n<table class="files">\n{_thead(FILE_COLUMNS, lang)}\n'
                  "<tbody>" + file_rows + "</tbody>\n</table>\n"
                  if marked else f"{escape(all_passed)}</p>\n")
               if files else "")
            + f'<h2>{h["expectations"]}</h2>\n<table class="expectations">\n{_thead(EXPECTATION_COLUMNS, lang)}\n'
            "<tbody>\n" + "\n".join(rows) + "\n</tbody>\n</table>\n"
            + (f'<h2>{h["problems"]}</h2>\n<table class="problems">\n{_thead(PROBLEM_COLUMNS, lang)}\n<tbody>'
               + problems + "</tbody>\n</table>\n" if problems else ""))
    title = _("Validation of %(source)s, %(night)s") % {"source": source, "night": lang.date(val.night)}
    return _document(title, 2, body, lang)
