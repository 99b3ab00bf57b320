"""The headquarters page as one server-rendered HTML document: no script, no external resource.

The page is in its reader's language (``ridni.web.i18n``: Ukrainian by default, English on request): texts
are English msgids, codes are shown by their labels (``ridni.web.labels``), numbers and dates are formatted
by Babel ("1 722", "3 листопада 2026 р."). A bad night comes first: a banner above the headline names the
nightly sources without a drop, refused drops, quarantined rows and the night's alerts, and a headline group
resting on such a source is marked.

Every value from the warehouse goes through :func:`esc` (HTML escaping, quotes included); the only
markup not built here is the chart, whose SVG text escapes its own labels. A suppressed count is
shown as "<5" (at the default ``RIDNI_SUPPRESSION_THRESHOLD``) and never as its value (the marts do not
hold it; the reconciliation's small counts are hidden by the query that reads them, see
``ridni.publish.suppression.published_reconciliation_sql``).
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable, Iterable, Sequence
from urllib.parse import urlencode

import pandas as pd

from ridni.publish.chart import headline_frame, line_chart_svg
from ridni.publish.marts import CIVILIANS_HELD
from ridni.publish.suppression import configured_threshold, is_small, suppressed_text
from ridni.web import labels
from ridni.web.data import NightView, source_titles
from ridni.web.i18n import DEFAULT, LANGUAGES, N_, Language

DASH = "\u2014"
WARN = "\u26a0"  # the mark of a figure resting on a source that did not deliver tonight
# A reconciliation row is flagged when the warehouse decided another category for at least this share of the
# source's persons (and for at least the suppression threshold's number of persons).
DISAGREEMENT_FLAG_SHARE = 0.05

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
HQ_STYLE = STYLE + """
.lang{float:right;font-size:.9em}.lang a{color:#fff}.lang a,.lang strong{margin-left:8px}
section.bad-night{border:2px solid #a01818;background:#fff4f4}
section.bad-night h2{color:#a01818}
section.good-night{border-color:#9c9;background:#f3faf3}
section.bad-night ul{margin:4px 0;padding-left:1.3em}
table.headline{font-size:1em}
table.headline td.num{font-size:1.1em}
tr.stale th,tr.stale td{background:#fff6dc}
.stale-mark{color:#a01818;font-weight:bold;margin-left:4px}
tr.flagged td{background:#fdecea}
tr.flagged td.flag{color:#a01818;font-weight:bold}
dl.legend{font-size:.85em;margin:6px 0;display:grid;grid-template-columns:max-content 1fr;gap:2px 10px}
dl.legend dt{font-weight:bold}dl.legend dd{margin:0}
.figures>div{flex:0 1 520px;min-width:0}
#chart{flex:1 1 600px;min-width:0}
#chart svg{max-width:100%;height:auto}
.downloads a{margin-right:10px}
th.num{white-space:normal}
table.reconciliation td:nth-child(-n+2),table.quality td:first-child{min-width:10em}
@media (max-width:600px){
 main{padding:4px 4px 30px}
 header{padding:10px 10px}
 section{padding:6px 6px 10px;margin:10px 0}
 .figures{display:block}
 table.headline{width:100%;font-size:.85em}
 table.headline td.num{font-size:1em}
 table.headline th,table.headline td{padding:2px 3px}
 table.headline thead th{white-space:normal;hyphens:auto}
 dl.legend{grid-template-columns:1fr}
 .lang{float:none;display:block;margin-bottom:4px}
}
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


def _missing(value) -> bool:
    return value is None or (not isinstance(value, str) and pd.isna(value))


def fmt_int(value, lang: Language) -> str:
    return "" if _missing(value) else lang.number(int(value))


def fmt_count(value, lang: Language, suppressed: bool = False) -> str:
    """A published count, or "<5" where it is suppressed."""
    if suppressed or _missing(value):
        return suppressed_text()
    return fmt_int(value, lang)


def fmt_change(value, lang: Language) -> str:
    if _missing(value):
        return DASH
    value = int(value)
    return "+" + lang.number(value) if value > 0 else "\u2212" + lang.number(-value) if value < 0 else "0"


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
    return "?" + urlencode({k: v for k, v in params.items() if v is not None})


# ------------------------------------------------------------------------------------------ the night's state

PROBLEM_STATUSES = {"no drop", "late", "rejected", "held", "received"}  # a nightly source gave no usable data


def source_problems(view: NightView) -> dict[str, str]:
    """Nightly sources without usable data tonight: source_id -> drop status ('no drop', 'late', 'rejected',
    'held', 'received'). Event sources (exchange lists) sending nothing is normal and not listed."""
    titles = source_titles()
    if view.quality is None:
        return {}
    out = {}
    for q in view.quality.itertuples(index=False):
        cadence = titles.get(q.source_id, ("", ""))[1]
        status = str(q.drop_status)
        if status in PROBLEM_STATUSES and not (status == "no drop" and cadence == "event"):
            out[q.source_id] = status
    return out


def group_sources(view: NightView) -> dict[str, set[str]]:
    """Headline group -> the sources whose evidence counts in it tonight (from the night's reconciliation)."""
    recon = view.reconciliation
    by_category: dict[str, set[str]] = {}
    for r in recon.itertuples(index=False):
        by_category.setdefault(r.category, set()).add(r.source_id)
    out = {}
    for grp, categories in labels.legend():
        members = categories if categories is not None else CIVILIANS_HELD  # ICRC-confirmed civilians held
        out[grp] = set().union(*(by_category.get(c, set()) for c in members))
    return out


def _banner(view: NightView, lang: Language) -> str:
    """The night's problems, above everything else: sources without usable data, quarantined rows, alerts."""
    _ = lang.gettext
    problems = source_problems(view)
    items = []
    status_text = {"no drop": N_("no drop tonight"), "late": N_("no drop by the late hour"),
                   "rejected": N_("drop rejected: nothing loaded"), "held": N_("drop held (register sequence gap)"),
                   "received": N_("drop received, not loaded")}
    missing = [s for s, st in problems.items() if st in ("no drop", "late")]
    refused = [s for s, st in problems.items() if st not in ("no drop", "late")]

    def listed(sources: list[str]) -> str:
        named = [(labels.source(s, lang), _(status_text[problems[s]])) for s in sorted(sources)]
        return ", ".join(f"<b>{esc(name)}</b> ({esc(status)})" for name, status in named)

    if missing:
        text = _("Sources with no drop tonight (%(n)s):") % {"n": len(missing)}
        items.append(f'<li id="no-drop">{esc(text)} {listed(missing)}</li>')
    if refused:
        text = _("Drops refused or not loaded (%(n)s):") % {"n": len(refused)}
        items.append(f'<li id="refused">{esc(text)} {listed(refused)}</li>')
    if view.quality is not None:
        quarantined = view.quality[view.quality["rows_quarantined"].fillna(0) > 0]
        if not quarantined.empty:
            parts = [_("%(source)s: %(rows)s rows") % {"source": labels.source(q.source_id, lang),
                                                         "rows": fmt_int(q.rows_quarantined, lang)}
                     for q in quarantined.itertuples(index=False)]
            items.append('<li id="quarantined">' + esc(_("Rows quarantined (failed validation):")) + " "
                         + esc("; ".join(parts)) + "</li>")
        held = view.quality[view.quality["drop_status"] == "withdrawals held"]
        if not held.empty:
            items.append('<li id="withdrawals-held">' + esc(_("Withdrawals held until an operator confirms them:"))
                         + " " + esc(", ".join(labels.source(s, lang) for s in held["source_id"])) + "</li>")
    alerts = _alerts(view, lang)
    if not items and not alerts:
        good = _("Every nightly source delivered tonight; nothing was refused or quarantined.")
        return f'<section id="night-status" class="good-night"><p class="status-ok">{esc(good)}</p></section>'
    stale = _("marks a headline figure resting on a source without a drop tonight: it counts that source as of "
              "its last delivery.")
    stale = f'<p class="note">{esc(WARN)} {esc(stale)}</p>' if problems else ""
    heading = _("Tonight needs attention")
    return (f'<section id="night-status" class="bad-night"><h2>{esc(heading)}</h2>'
            f'<ul>{"".join(items)}</ul>{stale}{alerts}</section>')


ALERT_KINDS = {
    "late_drop": N_("no drop by the late hour"), "drop_rejected": N_("drop rejected"),
    "seq_gap": N_("register sequence gap"), "rows_quarantined": N_("rows quarantined"),
    "withdrawals_held": N_("withdrawals held"), "withdrawals_confirmed": N_("withdrawals confirmed"),
    "night_redelivered": N_("night re-delivered"), "task_failed": N_("task failed"),
}
SEVERITIES = {"error": N_("error"), "warning": N_("warning"), "info": N_("information")}


def _alerts(view: NightView, lang: Language) -> str:
    """Tonight's alerts for the operators, as counts (their text stays in audit.alert and the channels)."""
    _ = lang.gettext
    if view.alerts.empty:
        return ""
    rows = []
    for a in view.alerts.itertuples(index=False):
        kind = _(ALERT_KINDS[a.kind]) if a.kind in ALERT_KINDS else a.kind
        cls = "status-bad" if a.severity == "error" else "status-warn" if a.severity == "warning" else ""
        severity = _(SEVERITIES[a.severity]) if a.severity in SEVERITIES else a.severity
        rows.append(f'<tr data-alert="{esc(a.kind)}">' + _td(severity, cls=cls) + _td(kind)
                    + _td(labels.source(a.source_id, lang) if not _missing(a.source_id) else DASH)
                    + _td(fmt_int(a.alerts, lang), num=True) + _td(fmt_int(a.rows_affected, lang), num=True) + "</tr>")
    table = _table([_("severity"), _("alert"), _("source"), _("alerts"), _("rows")], rows, num_from=3, cls="alerts")
    heading, note = _("Alerts tonight"), _("Details for the operators: the alert channels and the audit schema.")
    return (f'<h3 style="font-size:1em;margin:8px 0 4px">{esc(heading)}</h3>{table}'
            f'<p class="note">{esc(note)}</p>')


def _headline(view: NightView, lang: Language) -> str:
    _ = lang.gettext
    history = view.history.assign(night=pd.to_datetime(view.history["night"]).dt.date)
    earlier = history[history["night"] < view.night]
    hidden = suppressed_text()
    prev_suppressed: set[str] = set()
    if not earlier.empty:  # a missing previous value is "<5" when that night's count was suppressed
        last = earlier[earlier["night"] == earlier["night"].max()]
        prev_suppressed = set(last.loc[last["count_value"].isna(), "grp"])
    problems = source_problems(view)
    resting = group_sources(view)
    rows = []
    for r in view.headline.itertuples(index=False):
        if pd.isna(r.previous_value):
            previous = hidden if r.grp in prev_suppressed else DASH
        else:
            previous = fmt_int(r.previous_value, lang)
        count = fmt_count(r.count_value, lang)
        stale = sorted(resting.get(r.grp, set()) & set(problems))
        mark, cls = "", ""
        if stale:
            names = ", ".join(labels.source(s, lang) for s in stale)
            title = _("Rests on sources without a drop tonight: %(sources)s") % {"sources": names}
            mark = f'<span class="stale-mark" title="{esc(title)}">{WARN}</span>'
            cls = ' class="stale"'
        rows.append(
            f'<tr data-group="{esc(r.grp)}"{cls}><th scope="row">{esc(labels.group(r.grp, lang))}{mark}</th>'
            + _td(count, num=True, cls="suppressed" if count == hidden else "")
            + _td(previous, num=True, cls="suppressed" if previous == hidden else "")
            + _td(fmt_change(r.change, lang), num=True) + "</tr>")
    table = _table([_("group"), _("tonight"), _("previous night"), _("change")], rows, num_from=1, cls="headline")
    chart = line_chart_svg(
        headline_frame(view.history), highlight=view.night, title=_("Headline groups, night by night"),
        labels={g: labels.group(g, lang) for g in labels.GROUPS}, number=lambda v: lang.number(v),
        date=lang.short_date, empty_text=_("No nights published yet."), no_value_text=_("no published value"),
        gap_text=_("Gaps: no published value that night (counts from 1 to %(n)s are suppressed).")
        % {"n": configured_threshold() - 1},
        change_text=_("change: %(change)s") % {"change": "{change}"})
    legend = "".join(
        f"<dt>{esc(labels.group(grp, lang))}</dt><dd>"
        + esc(", ".join(labels.category(c, lang) for c in categories) if categories is not None
              else lang.gettext(labels.GROUP_NOTES[grp])) + "</dd>"
        for grp, categories in labels.legend())
    heading = _("Headline groups on %(night)s, with the change since the previous night") % {
        "night": lang.date(view.night)}
    note = _("A change is shown only when both nights are published.")
    return (f'<section id="headline"><h2>{esc(heading)}</h2><div class="figures"><div>{table}'
            f'<p class="note">{esc(note)}</p>'
            f'<dl class="legend" id="legend">{legend}</dl></div>'
            f'<figure id="chart" style="margin:0">{chart}</figure></div></section>')


def _counts(view: NightView, lang: Language) -> str:
    _ = lang.gettext
    regions_frame, totals = view.regions, view.totals
    hidden, at = suppressed_text(), configured_threshold()
    order = _category_order()
    present = set(regions_frame["category"]) | set(totals["category"])
    categories = [c for c in order if c in present] + sorted(present - set(order))
    regions = sorted(set(regions_frame["region"]), key=lambda r: (r == "unknown", labels.region(r, lang)))
    cells = {(r.region, r.category): r for r in regions_frame.itertuples(index=False)}
    rows = []
    for region in regions:
        tds = []
        for category in categories:
            cell = cells.get((region, category))
            text = "0" if cell is None else fmt_count(cell.count_value, lang, bool(cell.suppressed))
            tds.append(_td(text, num=True, cls="suppressed" if text == hidden else ""))
        rows.append(f'<tr data-region="{esc(region)}"><th scope="row">{esc(labels.region(region, lang))}</th>'
                    + "".join(tds) + "</tr>")
    by_category = {r.category: r for r in totals.itertuples(index=False)}
    total_cells = []
    for category in categories:
        t = by_category.get(category)
        text = DASH if t is None else fmt_count(t.count_value, lang, bool(t.suppressed))
        total_cells.append(_td(text, num=True, cls="suppressed" if text == hidden else ""))
    all_regions = _("all regions")
    rows.append(f'<tr class="total" data-region="(all)"><th scope="row">{esc(all_regions)}</th>'
                + "".join(total_cells) + "</tr>")
    region_head = _("region")
    ths = f"<th>{esc(region_head)}</th>" + "".join(
        f'<th class="num" data-category="{esc(c)}">{esc(labels.category(c, lang))}</th>' for c in categories)
    pivot = (f'<div class="scroll"><table class="region-category"><thead><tr>{ths}</tr></thead>'
             f"<tbody>{''.join(rows)}</tbody></table></div>")
    night = view.night.isoformat()
    links = " ".join(
        f'<a href="{esc(name)}.{fmt}{esc(_query(night=night))}" download>{esc(text)} ({fmt.upper()})</a>'
        for name, text in (("counts", _("full breakdown: category, person type, region, sex, age band")),
                           ("region_counts", _("this table"))) for fmt in ("csv", "xlsx"))
    note = _('Counts from 1 to %(n)s are suppressed and shown as "%(hidden)s", with complementary suppression '
             "so that no total and no other table gives one back.") % {"n": at - 1, "hidden": hidden}
    heading, download = _("Persons by region and category"), _("Download:")
    return (f'<section id="counts"><h2>{esc(heading)}</h2>'
            f'<p class="note">{esc(note)}</p>{pivot}<p class="note downloads">{esc(download)} {links}</p>'
            "</section>")


CHANGES = {"new_person": N_("new person"), "category_change": N_("category changed"),
           "withdrawal": N_("record withdrawn"), "merge": N_("merged"), "split": N_("split")}
REVIEWS = {"same": N_("reviewer: same person"), "different": N_("reviewer: different persons"),
           "evidence": N_("reviewer: which evidence stands")}


def _change_log(view: NightView, lang: Language) -> str:
    _ = lang.gettext
    log = view.change_log
    moving = (log["from_category"] == "missing") & log["to_category"].notna() & (log["to_category"] != "missing")
    rows = []
    for out_of_missing, r in zip(moving, log.itertuples(index=False), strict=True):
        cls = ' class="out-of-missing"' if out_of_missing else ""
        effective = lang.date(r.effective_date) if isinstance(r.effective_date, dt.date) else r.effective_date
        review = getattr(r, "review", None)  # a reviewer's decision caused the move: a pair's or the evidence's
        reviewed = _(REVIEWS[review]) if review in REVIEWS else (review if isinstance(review, str) else "")
        change = _(CHANGES[r.change]) if r.change in CHANGES else r.change
        rows.append(f"<tr{cls}>" + "".join(_td(v) for v in (
            r.pseudo_id, change, labels.category(r.from_category, lang), labels.category(r.to_category, lang),
            effective, labels.source(r.evidence_source, lang), r.evidence_record, r.rule))
            + _td(reviewed, cls="reviewed" if reviewed else "") + "</tr>")
    shown = len(log)
    total = view.change_log_total
    href = f"change_log.csv{esc(_query(night=view.night.isoformat()))}"
    if total > shown:
        text = _("Showing the first %(shown)s of %(total)s changes;") % {
            "shown": lang.number(shown), "total": lang.number(total)}
        link = _("download all as CSV")
        more = f'<p class="note">{esc(text)} <a href="{href}">{esc(link)}</a>.</p>'
    else:
        link = _("Download as CSV")
        more = f'<p class="note"><a href="{href}">{esc(link)}</a>.</p>'
    out_count = int(moving.sum())
    table = _table([_("person (pseudonymous)"), _("change"), _("from"), _("to"), _("effective"),
                    _("evidence source"), _("evidence record (pseudonymous)"), _("rule"), _("caused by")], rows,
                   cls="change-log")
    heading = _("Change log of the night: %(total)s changes, %(out)s moves out of missing listed first") % {
        "total": lang.number(total), "out": lang.number(out_count)}
    note = _("Persons and records appear only by keyed pseudonym; the case officers' layer resolves them.")
    return f'<section id="change-log"><h2>{esc(heading)}</h2><p class="note">{esc(note)}</p>{table}{more}</section>'


def disagreement(row, at: int) -> tuple[int, bool]:
    """A reconciliation row's disagreement: the persons whose decided category this source's evidence does not
    support (0 when suppressed or none); flagged from :data:`DISAGREEMENT_FLAG_SHARE` of the source's persons
    and from the suppression threshold."""
    known = [None if _missing(v) or is_small(v, at) else int(v) for v in (row.source_count, row.disagreeing)]
    source, disagreeing = known
    if not disagreeing:
        return 0, False
    return disagreeing, disagreeing >= at and disagreeing >= DISAGREEMENT_FLAG_SHARE * (source or 0)


def difference(row, at: int) -> int | None:
    """The warehouse's count minus the source's, when both are published."""
    values = [None if _missing(v) or is_small(v, at) else int(v) for v in (row.source_count, row.warehouse_count)]
    return None if None in values else values[1] - values[0]


def _reconciliation(view: NightView, lang: Language) -> str:
    _ = lang.gettext
    rows = []
    hidden, at = suppressed_text(), configured_threshold()
    scored = [(r, *disagreement(r, at)) for r in view.reconciliation.itertuples(index=False)]
    scored.sort(key=lambda t: (-t[1], t[0].source_id, t[0].category))
    for r, _worst, flagged in scored:
        cells = []
        for v in (r.source_count, r.warehouse_count, r.only_in_source, r.disagreeing):
            # NULL: hidden by the query; a small count that got here anyway is not shown either
            text = fmt_count(v, lang, is_small(v, at))
            cells.append(_td(text, num=True, cls="suppressed" if text == hidden else ""))
        # a difference below the threshold is printed as "<5" too: the page shows no number from 1 to 4
        diff = difference(r, at)
        diff_text = DASH if diff is None else hidden if is_small(abs(diff), at) else fmt_change(diff, lang)
        cells.append(_td(diff_text, num=True, cls="suppressed" if diff_text == hidden else ""))
        cells.append(_td(_("check") if flagged else "", cls="flag"))
        rows.append(f'<tr data-source="{esc(r.source_id)}" data-category="{esc(r.category)}"'
                    f'{" class=flagged" if flagged else ""}>'
                    + _td(labels.source(r.source_id, lang), title=r.source_id) + _td(labels.category(r.category, lang))
                    + "".join(cells) + "</tr>")
    table = _table([_("source"), _("category in the source"), _("source's count"),
                    _("warehouse's count (same persons)"), _("persons only in this source"),
                    _("persons whose category disagrees"), _("difference (warehouse \u2212 source)"), ""], rows, num_from=2,
                   cls="reconciliation")
    note = _("Sorted by the persons whose category disagrees: the warehouse decided another category than this "
             "source's evidence gives. Flagged from %(share)s of the source's persons. Counts from 1 to %(n)s "
             'persons are shown as "%(hidden)s".') % {"share": f"{DISAGREEMENT_FLAG_SHARE:.0%}", "n": at - 1, "hidden": hidden}
    heading = _("Reconciliation per source")
    return (f'<section id="reconciliation"><h2>{esc(heading)}</h2>{table}'
            f'<p class="note">{esc(note)}</p></section>')


DROP_STATUS = {
    "loaded": (N_("received, loaded"), "status-ok"),
    "unchanged": (N_("received, unchanged: its files were loaded before"), "status-ok"),
    "withdrawals held": (N_("loaded; its withdrawals held until an operator confirms them"), "status-bad"),
    "received": (N_("received, not yet loaded"), "status-warn"),
    "held": (N_("received, held (register sequence gap)"), "status-bad"),
    "rejected": (N_("received, rejected: nothing loaded"), "status-bad"),
    "late": (N_("late: no drop by the late hour"), "status-bad"),
    "no drop": (N_("no drop"), "status-warn"),
}


def _quality(view: NightView, docs_link: Callable[[str, str, dt.date], str | None], lang: Language) -> str:
    _ = lang.gettext
    title = _("Data quality by source")
    if view.quality is None:
        missing = _("Not available: the view marts.source_quality is missing (run the warehouse migrations).")
        return f'<section id="quality"><h2>{esc(title)}</h2><p>{esc(missing)}</p></section>'
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
        text = _(text)
        if status == "no drop" and cadence == "event":
            text, cls = _("no drop (normal: event source)"), "status-ok"
        if late and status != "late":
            text += " " + _("(after the late hour)")
        if valid is None or pd.isna(valid):
            verdict, vcls = DASH, ""
        else:
            verdict, vcls = (_("passed"), "status-ok") if bool(valid) else (_("failed"), "status-bad")
        if uri is None or pd.isna(uri) or not str(uri):
            docs = DASH
        else:
            href = docs_link(source, str(uri), view.night)
            docs = (f'<a href="{esc(href)}">Data Docs</a>' if href else f"<code>{esc(uri)}</code>")
        qcls = "status-warn" if pd.notna(quarantined) and int(quarantined) > 0 else ""
        rows.append(f'<tr data-source="{esc(source)}">' + _td(labels.source(source, lang), title=provider)
                    + _td(text, cls=cls) + _td(fmt_int(received, lang), num=True)
                    + _td(fmt_int(loaded, lang), num=True)
                    + _td(fmt_int(quarantined, lang), num=True, cls=qcls) + _td(verdict, cls=vcls)
                    + f"<td>{docs}</td></tr>")
    table = _table([_("source"), _("drop"), _("rows received"), _("rows loaded"), _("rows quarantined"),
                    _("validation"), "Data Docs"], rows, num_from=2, cls="quality")
    note = _("Quarantined rows and refused drops are listed, with file and line, in the warehouse's quarantine "
             "for the data engineers; Data Docs show counts and percentages only.")
    return f'<section id="quality"><h2>{esc(title)}</h2>{table}<p class="note">{esc(note)}</p></section>'


def _review(view: NightView, lang: Language) -> str:
    _ = lang.gettext
    q = view.review_queue
    if not q:
        none = _("not published for this night")
        body = f"<p>{DASH} ({esc(none)})</p>"
    else:
        linkage = f'<span class="figure" id="review-linkage">{esc(fmt_int(q["linkage_pairs"], lang))}</span>'
        conflicts = f'<span class="figure" id="review-conflicts">{esc(fmt_int(q["category_conflicts"], lang))}</span>'
        body = "<p>" + esc(_("%(pairs)s record pairs await a reviewer's decision; %(persons)s persons have "
                             "conflicting evidence of equal weight to decide.")).replace(
            "%(pairs)s", linkage).replace("%(persons)s", conflicts) + "</p>"
    heading = _("Linkage review queue")
    return (f'<section id="review-queue"><h2>{esc(heading)}</h2>{body}'
            f"{_review_by_group(view, lang)}</section>")


def _review_by_group(view: NightView, lang: Language) -> str:
    """Per headline group: persons counted there whose kind, or whose situation, waits for a review."""
    _ = lang.gettext
    if not {"kind_review", "situation_review"} <= set(view.headline.columns):
        return ""
    rows, hidden = [], suppressed_text()
    for r in view.headline.itertuples(index=False):
        kind, situation = fmt_count(r.kind_review, lang), fmt_count(r.situation_review, lang)
        rows.append(f'<tr data-group="{esc(r.grp)}"><th scope="row">{esc(labels.group(r.grp, lang))}</th>'
                    + _td(kind, num=True, cls="suppressed" if kind == hidden else "")
                    + _td(situation, num=True, cls="suppressed" if situation == hidden else "") + "</tr>")
    table = _table([_("group"), _("kind to review"), _("situation to review")], rows, num_from=1,
                   cls="review-by-group")
    note = _("Of each headline group, the persons whose evidence of equal weight disagrees: on the kind of held "
             "(they count as held meanwhile) or on the situation (the previous decision stands meanwhile).")
    return f'<p class="note">{esc(note)}</p>{table}'


def _language_switch(lang: Language, **params) -> str:
    links = []
    for code, name in LANGUAGES.items():
        if code == lang.code:
            links.append(f'<strong lang="{code}">{esc(name)}</strong>')
        else:
            links.append(f'<a lang="{code}" hreflang="{code}" href="{esc(_query(**params, lang=code))}">{esc(name)}</a>')
    return f'<span class="lang">{"".join(links)}</span>'


def _nav(view: NightView, lang: Language) -> str:
    _ = lang.gettext
    options = "".join(
        f'<option value="{esc(n.isoformat())}"{" selected" if n == view.night else ""}>{esc(lang.date(n))}</option>'
        for n in reversed(view.nights))
    idx = view.nights.index(view.night) if view.night in view.nights else -1
    words = {"previous": _("previous night"), "next": _("next night"), "latest": _("latest"), "night": _("Night"),
             "show": _("Show")}
    words = {k: esc(v) for k, v in words.items()}
    links = []
    if idx > 0:
        links.append(f'<a href="{esc(_query(night=view.nights[idx - 1].isoformat()))}">&larr; {words["previous"]}</a>')
    if 0 <= idx < len(view.nights) - 1:
        links.append(f'<a href="{esc(_query(night=view.nights[idx + 1].isoformat()))}">{words["next"]} &rarr;</a>')
        links.append(f'<a href="./">{words["latest"]}</a>')
    return (f'<nav class="nights"><form method="get" action=""><label>{words["night"]} <select name="night">'
            f'{options}</select></label> <button type="submit">{words["show"]}</button></form>'
            + " ".join(links) + "</nav>")


def render_page(view: NightView, *, docs_link: Callable[[str, str, dt.date], str | None], user: str = "",
                lang: Language | None = None) -> str:
    lang = lang or Language(DEFAULT)
    _ = lang.gettext
    latest = view.nights[-1] if view.nights else view.night
    which = _("latest night") if view.night == latest else _("past night (latest: %(night)s)") % {
        "night": lang.date(latest)}
    who = " · " + esc(_("signed in as %(user)s") % {"user": user}) if user else ""
    title = _("Situation on %(night)s") % {"night": lang.date(view.night, "long")}
    page_title, org, readonly = _("headquarters"), _("Coordination Headquarters for the Treatment of Prisoners of War"), \
        _("read-only (marts only)")
    return f"""<!doctype html>
<html lang="{lang.code}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>ridni · {esc(page_title)} · {esc(view.night.isoformat())}</title><style>{HQ_STYLE}</style></head>
<body><header>{_language_switch(lang, night=view.night.isoformat())}<h1>{esc(title)}</h1>
<p>{esc(org)} · {esc(which)}{who} · {esc(readonly)}</p>{_nav(view, lang)}</header>
<main>{_banner(view, lang)}{_headline(view, lang)}{_counts(view, lang)}{_change_log(view, lang)}{_reconciliation(view, lang)}{_quality(view, docs_link, lang)}{_review(view, lang)}</main>
</body></html>
"""


def render_message(title: str, message: str, *, nights: Sequence[dt.date] = (), lang: Language | None = None) -> str:
    """A page with one message; ``title`` and ``message`` are msgids (or already translated text)."""
    lang = lang or Language(DEFAULT)
    _ = lang.gettext
    links = "".join(f'<li><a href="{esc(_query(night=n.isoformat()))}">{esc(lang.date(n))}</a></li>'
                    for n in reversed(nights))
    published = _("Published nights:")
    listing = f"<p>{esc(published)}</p><ul>{links}</ul>" if links else ""
    title, message = _(title), _(message)
    return f"""<!doctype html>
<html lang="{lang.code}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>ridni · {esc(title)}</title><style>{HQ_STYLE}</style></head>
<body><header>{_language_switch(lang)}<h1>{esc(title)}</h1></header><main><section><p>{esc(message)}</p>{listing}
</section></main></body></html>
"""
