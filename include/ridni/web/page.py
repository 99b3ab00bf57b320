"""The headquarters page as one server-rendered HTML document: no script, no external resource.

Every value from the warehouse goes through :func:`esc` (HTML escaping, quotes included); the only
markup not built here is the chart, whose SVG text escapes its own labels. A suppressed count is
shown as "<5" (at the default ``RIDNI_SUPPRESSION_THRESHOLD``) and never as its value (the marts do not
hold it; the reconciliation's small counts are hidden by the query that reads them, see
``ridni.publish.suppression.published_reconciliation_sql``).
"""

from __future__ import annotations

import datetime as dt
import functools
import html
from collections.abc import Callable, Iterable, Sequence
from urllib.parse import urlencode

import pandas as pd

from ridni.publish.chart import headline_frame, line_chart_svg
from ridni.publish.suppression import configured_threshold, is_small, suppressed_text
from ridni.web.data import NightView, source_titles

DASH = "\u2014"

STYLE = """
body{font-family:"DejaVu Sans",Arial,Helvetica,sans-serif;margin:0;color:#1d1d1d;background:#f4f5f7}
header{background:#0b3d6b;color:#fff;padding:12px 20px}
header h1{margin:0;font-size:1.35em}
header p{margin:4px 0 0;font-size:.9em;opacity:.9}
nav.nights{display:flex;gap:12px;align-items:center;flex-wrap:wrap;margin-top:8px;font-size:.9em}
nav.nights a{color:#fff}
main{padding:8px 20px 40px;max-width:1400px}
section{background:#fff;border:1px solid #dde1e6;border-radius:4px;padding:8px 14px 12px;margin:14px 0}
h2{font-size:1.1em;margin:6px 0 10px}
table{border-collapse:collapse;font-size:.85em;margin-bottom:6px}
th,td{border:1px solid #d5d9de;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#eef1f4}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.suppressed{color:#6b4e00;background:#fff6dc}
tr.out-of-missing td{background:#eaf6ea}
td.reviewed{color:#0b3d6b;font-weight:bold}
.status-ok{color:#13631a}.status-warn{color:#8a5a00}.status-bad{color:#a01818;font-weight:bold}
.note{color:#555;font-size:.85em;margin:4px 0}
.scroll{overflow-x:auto}
.figures{display:flex;gap:24px;flex-wrap:wrap;align-items:flex-start}
details summary{cursor:pointer;margin:6px 0}
code{font-size:.9em}
"""


def esc(value) -> str:
    """HTML-escape any value (None and NA as an empty string), quotes included."""
    if value is None:
        return ""
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):  # a list or array: not a missing scalar
        pass
    return html.escape(str(value), quote=True)


def fmt_int(value) -> str:
    if value is None or pd.isna(value):
        return ""
    return f"{int(value):,}"


def fmt_count(value, suppressed: bool = False) -> str:
    """A published count, or "<5" where it is suppressed."""
    if suppressed or value is None or pd.isna(value):
        return suppressed_text()
    return fmt_int(value)


def fmt_change(value) -> str:
    if value is None or pd.isna(value):
        return DASH
    value = int(value)
    return f"+{value:,}" if value > 0 else f"{value:,}"


@functools.cache
def region_names() -> dict[str, str]:
    try:
        from ridni.standardise.regions import regions

        return {r["code"]: f"{r['name_en']} ({r['code']})" for r in regions()}
    except Exception:  # names are a courtesy; codes alone still read
        return {}


def region_label(code) -> str:
    return region_names().get(str(code), str(code))


def _category_order() -> list[str]:
    from ridni.decide.rules import CATEGORIES

    return list(CATEGORIES)


def _td(text: str, *, num: bool = False, cls: str = "", title: str = "") -> str:
    classes = " ".join(c for c in ("num" if num else "", cls) if c)
    attrs = (f' class="{classes}"' if classes else "") + (f' title="{esc(title)}"' if title else "")
    return f"<td{attrs}>{esc(text)}</td>"


def _table(head: Sequence[str], rows: Iterable[str], *, num_from: int | None = None, cls: str = "") -> str:
    ths = "".join(f'<th{" class=num" if num_from is not None and i >= num_from else ""}>{esc(h)}</th>'
                  for i, h in enumerate(head))
    body = "".join(rows)
    return f'<div class="scroll"><table class="{esc(cls)}"><thead><tr>{ths}</tr></thead><tbody>{body}</tbody></table></div>'


def _query(**params) -> str:
    return "?" + urlencode(params)


# ------------------------------------------------------------------------------------------ sections

def _headline(view: NightView) -> str:
    history = view.history.assign(night=pd.to_datetime(view.history["night"]).dt.date)
    earlier = history[history["night"] < view.night]
    hidden = suppressed_text()
    prev_suppressed: set[str] = set()
    if not earlier.empty:  # a missing previous value is "<5" when that night's count was suppressed
        last = earlier[earlier["night"] == earlier["night"].max()]
        prev_suppressed = set(last.loc[last["count_value"].isna(), "grp"])
    rows = []
    for r in view.headline.itertuples(index=False):
        if pd.isna(r.previous_value):
            previous = hidden if r.grp in prev_suppressed else DASH
        else:
            previous = fmt_int(r.previous_value)
        count = fmt_count(r.count_value)
        rows.append(
            f'<tr data-group="{esc(r.grp)}"><th scope="row">{esc(r.grp)}</th>'
            + _td(count, num=True, cls="suppressed" if count == hidden else "")
            + _td(previous, num=True, cls="suppressed" if previous == hidden else "")
            + _td(fmt_change(r.change), num=True) + "</tr>")
    table = _table(["group", "tonight", "previous night", "change"], rows, num_from=1, cls="headline")
    chart = line_chart_svg(headline_frame(view.history), highlight=view.night)
    return (f'<section id="headline"><h2>Headline groups on {esc(view.night.isoformat())}, with the change since '
            f'the previous night</h2><div class="figures"><div>{table}<p class="note">A change is shown only '
            f'when both nights are published.</p></div><figure id="chart" style="margin:0">{chart}'
            "</figure></div></section>")


def region_category_cell(cells: pd.DataFrame) -> tuple[str, bool]:
    """One region x category cell built from the mart's finer cells (person type, sex, age band).

    The published cells are added up; each suppressed one adds "<5" to the text, never a number:
    "12", "<5", "12 + <5", "12 + 2×<5". Returns the text and whether a suppressed cell is part of it.
    """
    hidden = int(cells["suppressed"].sum())
    shown = int(cells.loc[~cells["suppressed"], "count_value"].fillna(0).sum())
    parts = [f"{shown:,}"] if shown or not hidden else []
    if hidden:
        parts.append(suppressed_text() if hidden == 1 else f"{hidden}\u00d7{suppressed_text()}")
    return " + ".join(parts), bool(hidden)


def _counts(view: NightView) -> str:
    counts, totals = view.counts, view.totals
    hidden, at = suppressed_text(), configured_threshold()
    order = _category_order()
    present = set(counts["category"]) | set(totals["category"])
    categories = [c for c in order if c in present] + sorted(present - set(order))
    regions = sorted(set(counts["region"]), key=lambda r: (r == "unknown", str(r)))
    grouped = {key: g for key, g in counts.groupby(["region", "category"], sort=False)}
    rows = []
    for region in regions:
        cells = []
        for category in categories:
            sub = grouped.get((region, category))
            if sub is None:
                cells.append(_td("0", num=True))
                continue
            text, hidden = region_category_cell(sub)
            cells.append(_td(text, num=True, cls="suppressed" if hidden else ""))
        rows.append(f'<tr data-region="{esc(region)}"><th scope="row">{esc(region_label(region))}</th>'
                    + "".join(cells) + "</tr>")
    by_category = {r.category: r for r in totals.itertuples(index=False)}
    total_cells = []
    for category in categories:
        t = by_category.get(category)
        text = DASH if t is None else fmt_count(t.count_value, bool(t.suppressed))
        total_cells.append(_td(text, num=True, cls="suppressed" if text == hidden else ""))
    rows.append('<tr class="total" data-region="(all)"><th scope="row">all regions (published total)</th>'
                + "".join(total_cells) + "</tr>")
    pivot = _table(["region", *categories], rows, num_from=1, cls="region-category")

    detail_rows = []
    for r in counts.itertuples(index=False):
        text = fmt_count(r.count_value, bool(r.suppressed))
        detail_rows.append("<tr>" + "".join(_td(v) for v in (r.category, r.person_type, region_label(r.region),
                                                               r.sex, r.age_band))
                           + _td(text, num=True, cls="suppressed" if text == hidden else "") + "</tr>")
    detail = _table(["category", "person type", "region", "sex", "age band", "count"], detail_rows, num_from=5,
                    cls="category-counts")
    return ('<section id="counts"><h2>Counts by region and category</h2>'
            f'<p class="note">Counts from 1 to {at - 1} are suppressed and shown as "{esc(hidden)}", with '
            "complementary suppression so that no total gives one back. A region's cell adds up the published "
            f'cells of the finer breakdown; "n×{esc(hidden)}" means n suppressed cells in it.</p>'
            f"{pivot}<details><summary>Full breakdown: category × person type × region × sex × age band "
            f"({len(counts):,} cells)</summary>{detail}</details></section>")


def _change_log(view: NightView) -> str:
    log = view.change_log
    moving = (log["from_category"] == "missing") & log["to_category"].notna() & (log["to_category"] != "missing")
    rows = []
    for out_of_missing, r in zip(moving, log.itertuples(index=False), strict=True):
        cls = ' class="out-of-missing"' if out_of_missing else ""
        effective = r.effective_date.isoformat() if hasattr(r.effective_date, "isoformat") else r.effective_date
        review = getattr(r, "review", None)  # a reviewer's decision caused the move: 'same' or 'different'
        reviewed = f"reviewer: {review}" if isinstance(review, str) else ""
        rows.append(f"<tr{cls}>" + "".join(_td(v) for v in (
            r.pseudo_id, r.change, r.from_category, r.to_category, effective, r.evidence_source,
            r.evidence_record, r.rule)) + _td(reviewed, cls="reviewed" if reviewed else "") + "</tr>")
    shown = len(log)
    total = view.change_log_total
    more = (f'<p class="note">Showing the first {shown:,} of {total:,} changes; '
            f'<a href="change_log.csv{esc(_query(night=view.night.isoformat()))}">download all as CSV</a>.</p>'
            if total > shown else
            f'<p class="note"><a href="change_log.csv{esc(_query(night=view.night.isoformat()))}">Download as '
            "CSV</a>.</p>")
    out_count = int(moving.sum())
    table = _table(["person (pseudonymous)", "change", "from", "to", "effective", "evidence source",
                    "evidence record (pseudonymous)", "rule", "caused by"], rows, cls="change-log")
    return (f'<section id="change-log"><h2>Change log of the night: {total:,} changes, {out_count:,} moves out '
            'of missing listed first</h2><p class="note">Persons and records appear only by keyed pseudonym; '
            f"the case officers' layer resolves them.</p>{table}{more}</section>")


def _reconciliation(view: NightView) -> str:
    rows = []
    hidden, at = suppressed_text(), configured_threshold()
    for r in view.reconciliation.itertuples(index=False):
        cells = []
        for v in (r.source_count, r.warehouse_count, r.only_in_source, r.disagreeing):
            # NULL: hidden by the query; a small count that got here anyway is not shown either
            text = fmt_count(v, is_small(v, at))
            cells.append(_td(text, num=True, cls="suppressed" if text == hidden else ""))
        rows.append("<tr>" + _td(r.source_id) + _td(r.category) + "".join(cells) + "</tr>")
    table = _table(["source", "category in the source", "source's count", "warehouse's count (same persons)",
                    "persons only in this source", "persons whose category disagrees"], rows, num_from=2,
                   cls="reconciliation")
    return (f'<section id="reconciliation"><h2>Reconciliation per source</h2>{table}<p class="note">Counts from '
            f'1 to {at - 1} persons are shown as "{esc(hidden)}".</p></section>')


DROP_STATUS = {
    "loaded": ("received, loaded", "status-ok"),
    "unchanged": ("received, unchanged: its files were loaded before", "status-ok"),
    "withdrawals held": ("loaded; its withdrawals held until an operator confirms them", "status-bad"),
    "received": ("received, not yet loaded", "status-warn"),
    "held": ("received, held (register sequence gap)", "status-bad"),
    "rejected": ("received, rejected: nothing loaded", "status-bad"),
    "late": ("late: no drop by the late hour", "status-bad"),
    "no drop": ("no drop", "status-warn"),
}


def _quality(view: NightView, docs_link: Callable[[str, str, dt.date], str | None]) -> str:
    if view.quality is None:
        return ('<section id="quality"><h2>Data quality by source</h2><p>Not available: the view '
                "<code>marts.source_quality</code> is missing (run the warehouse migrations).</p></section>")
    titles = source_titles()
    quality = view.quality.set_index("source_id") if not view.quality.empty else view.quality
    sources = sorted(set(titles) | set(quality.index))
    rows = []
    for source in sources:
        provider, cadence = titles.get(source, ("", ""))
        if source in quality.index:
            q = quality.loc[source]
            status, late = str(q["drop_status"]), bool(q["late"]) if pd.notna(q["late"]) else False
            received, loaded, quarantined = q["rows_received"], q["rows_loaded"], q["rows_quarantined"]
            valid, uri = q["validation_success"], q["data_docs_uri"]
        else:
            status, late, received, loaded, quarantined, valid, uri = "no drop", False, None, None, None, None, None
        text, cls = DROP_STATUS.get(status, (status, "status-warn"))
        if status == "no drop" and cadence == "event":
            text, cls = "no drop (normal: event source)", "status-ok"
        if late and status != "late":
            text += " (after the late hour)"
        if valid is None or pd.isna(valid):
            verdict, vcls = DASH, ""
        else:
            verdict, vcls = ("passed", "status-ok") if bool(valid) else ("failed", "status-bad")
        if uri is None or pd.isna(uri) or not str(uri):
            docs = DASH
        else:
            href = docs_link(source, str(uri), view.night)
            docs = (f'<a href="{esc(href)}">Data Docs</a>' if href else f"<code>{esc(uri)}</code>")
        qcls = "status-warn" if pd.notna(quarantined) and int(quarantined) > 0 else ""
        rows.append(f'<tr data-source="{esc(source)}">' + _td(source, title=provider) + _td(text, cls=cls)
                    + _td(fmt_int(received), num=True) + _td(fmt_int(loaded), num=True)
                    + _td(fmt_int(quarantined), num=True, cls=qcls) + _td(verdict, cls=vcls)
                    + f"<td>{docs}</td></tr>")
    table = _table(["source", "drop", "rows received", "rows loaded", "rows quarantined", "validation",
                    "Data Docs"], rows, cls="quality")
    return (f'<section id="quality"><h2>Data quality by source</h2>{table}<p class="note">Quarantined rows and '
            "refused drops are listed, with file and line, in the warehouse's quarantine for the data engineers; "
            "Data Docs show counts and percentages only.</p></section>")


def _review(view: NightView) -> str:
    q = view.review_queue
    if not q:
        body = f"<p>{DASH} (not published for this night)</p>"
    else:
        body = (f'<p><span class="figure" id="review-linkage">{esc(fmt_int(q["linkage_pairs"]))}</span> record '
                f'pairs await a reviewer\'s "same" or "different"; <span class="figure" id="review-conflicts">'
                f'{esc(fmt_int(q["category_conflicts"]))}</span> persons have conflicting evidence of equal '
                "weight to decide.</p>")
    return f'<section id="review-queue"><h2>Linkage review queue</h2>{body}{_review_by_group(view)}</section>'


def _review_by_group(view: NightView) -> str:
    """Per headline group: persons counted there whose kind, or whose situation, waits for a review."""
    if not {"kind_review", "situation_review"} <= set(view.headline.columns):
        return ""
    rows, hidden = [], suppressed_text()
    for r in view.headline.itertuples(index=False):
        kind, situation = fmt_count(r.kind_review), fmt_count(r.situation_review)
        rows.append(f'<tr data-group="{esc(r.grp)}"><th scope="row">{esc(r.grp)}</th>'
                    + _td(kind, num=True, cls="suppressed" if kind == hidden else "")
                    + _td(situation, num=True, cls="suppressed" if situation == hidden else "") + "</tr>")
    table = _table(["group", "kind to review", "situation to review"], rows, num_from=1, cls="review-by-group")
    return ('<p class="note">Of each headline group, the persons whose evidence of equal weight disagrees: on the '
            "kind of held (they count as held meanwhile) or on the situation (the previous decision stands "
            f"meanwhile).</p>{table}")


def _nav(view: NightView) -> str:
    options = "".join(
        f'<option value="{esc(n.isoformat())}"{" selected" if n == view.night else ""}>{esc(n.isoformat())}</option>'
        for n in reversed(view.nights))
    idx = view.nights.index(view.night) if view.night in view.nights else -1
    links = []
    if idx > 0:
        links.append(f'<a href="{esc(_query(night=view.nights[idx - 1].isoformat()))}">&larr; previous night</a>')
    if 0 <= idx < len(view.nights) - 1:
        links.append(f'<a href="{esc(_query(night=view.nights[idx + 1].isoformat()))}">next night &rarr;</a>')
        links.append('<a href="./">latest</a>')
    return (f'<nav class="nights"><form method="get" action=""><label>Night <select name="night">{options}'
            '</select></label> <button type="submit">Show</button></form>' + " ".join(links) + "</nav>")


def render_page(view: NightView, *, docs_link: Callable[[str, str, dt.date], str | None], user: str = "") -> str:
    latest = view.nights[-1] if view.nights else view.night
    which = "latest night" if view.night == latest else f"past night (latest: {latest.isoformat()})"
    who = f" · signed in as {esc(user)}" if user else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>ridni · headquarters · {esc(view.night.isoformat())}</title><style>{STYLE}</style></head>
<body><header><h1>Situation on {esc(view.night.isoformat())}</h1>
<p>Coordination Headquarters for the Treatment of Prisoners of War · {esc(which)}{who} ·
read-only (marts only)</p>{_nav(view)}</header>
<main>{_headline(view)}{_counts(view)}{_change_log(view)}{_reconciliation(view)}{_quality(view, docs_link)}{_review(view)}</main>
</body></html>
"""


def render_message(title: str, message: str, *, nights: Sequence[dt.date] = ()) -> str:
    links = "".join(f'<li><a href="{esc(_query(night=n.isoformat()))}">{esc(n.isoformat())}</a></li>'
                    for n in reversed(nights))
    listing = f"<p>Published nights:</p><ul>{links}</ul>" if links else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ridni · {esc(title)}</title><style>{STYLE}</style></head>
<body><header><h1>{esc(title)}</h1></header><main><section><p>{esc(message)}</p>{listing}</section></main>
</body></html>
"""
