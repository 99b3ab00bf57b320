"""The review page's HTML: the queue, one pair side by side, and messages; in the reader's language.

Every value from the warehouse goes through ``esc``. Texts are English msgids translated by
``ridni.web.i18n`` (Ukrainian by default); numbers and dates are formatted by Babel. The only script is
``/review/static/review.js`` (keyboard shortcuts); without it the buttons' access keys still work.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

import pandas as pd

from ridni.review.conflict import ConflictView
from ridni.review.pair import Effect, PairView
from ridni.review.queue import IMPACTS, QueueFilter, QueuePage
from ridni.web import labels
from ridni.web.i18n import LANGUAGES, N_, Language
from ridni.web.labels import region as region_label
from ridni.web.page import STYLE, esc

DASH = "\u2014"
REVIEW_STYLE = STYLE + """
header a{color:#fff}
.lang{float:right;font-size:.9em}.lang a,.lang strong{margin-left:8px}
nav.crumbs{margin-top:6px;font-size:.9em}
.sizes{display:flex;gap:18px;flex-wrap:wrap}.sizes div{background:#eef1f4;padding:6px 10px;border-radius:4px}
.sizes b{font-size:1.3em;display:block}
form.filter{display:flex;gap:12px;flex-wrap:wrap;align-items:end}form.filter label{display:flex;flex-direction:column;font-size:.85em}
table.pair td.differs{background:#fff3e0}table.pair th[scope=row]{width:16em}
table.pair td{width:40%}
.impact-out_of_missing{color:#13631a;font-weight:bold}.impact-headline_group{color:#8a5a00}
.effect{border-left:4px solid #0b3d6b;padding:4px 10px;margin:6px 0;background:#f7f9fc}
.decide{position:sticky;bottom:0;background:#fff;border-top:2px solid #0b3d6b;padding:10px 14px;margin:14px 0 0}
.decide textarea{width:100%;max-width:60em;height:3.2em}
.decide button{font-size:1em;padding:6px 14px;margin-right:10px}
button.same{background:#e5f3e5}button.different{background:#fbe9e9}
kbd{border:1px solid #999;border-radius:3px;padding:0 4px;font-size:.85em;background:#fafafa}
.flash{background:#eaf6ea;border:1px solid #9c9;padding:6px 10px;margin:10px 0}
table.other-records{font-size:.8em}
.muted{color:#666}
"""

DECISIONS = {"same": N_("same person"), "different": N_("different persons"), "not_sure": N_("not sure"),
             "stands": N_("this record stands"), "all_wrong": N_("both records wrong")}
CONFLICTS = {"kind": N_("Records of one date and rank name different kinds of captivity: the person counts as held "
                        "with the kind known before, and the kind waits for you."),
             "situation": N_("Records of one date and rank name different situations: the person keeps the "
                             "situation decided before (or the preferred one), and the situation waits for you.")}
IMPACT_LABELS = {"out_of_missing": N_("moves a person out of missing"),
                 "headline_group": N_("changes a headline group"), "other": N_("other")}
FIELDS = {"surname": N_("surname"), "first_name": N_("first name"), "patronymic": N_("patronymic"),
          "birth_date": N_("birth date"), "sex": N_("sex"), "region": N_("region")}
FIELD_ORDER = list(FIELDS)
# Splink's level labels (label_for_charts) in the reader's language; a column name inside is dropped.
LEVELS = [
    (re.compile(r"^Exact match on "), N_("exact match")),
    (re.compile(r"^Jaro-Winkler distance of \S+ >= (?P<threshold>[\d.]+)$"),
     N_("similar spelling (Jaro-Winkler at least %(threshold)s)")),
    (re.compile(r"^All other comparisons$"), N_("different")),
    (re.compile(r" is NULL$"), N_("missing on one side")),
    (re.compile(r"^exact date$"), N_("exact date")),
    (re.compile(r"^day and month swapped$"), N_("day and month swapped")),
    (re.compile(r"^partial date consistent$"), N_("partial date agrees")),
    (re.compile(r"^within a month \(typo\)$"), N_("within a month (a typo?)")),
    (re.compile(r"^same year$"), N_("same year")),
]
EFFECT_SAME = {
    "already_one": N_("Both records already belong to person %(a)s (%(ca)s): nothing changes, the link is confirmed."),
    "out_of_missing": N_("Person %(a)s (%(ca)s) and person %(b)s (%(cb)s) become one person: %(result)s; "
                         "moves out of missing. One person fewer."),
    "one_category": N_("Person %(a)s (%(ca)s) and person %(b)s (%(cb)s) become one person: %(result)s. "
                       "One person fewer."),
    "join": N_("Person %(a)s (%(ca)s) and person %(b)s (%(cb)s) become one person: %(result)s, the later "
               "confirmation. One person fewer."),
    "choose": N_("Person %(a)s (%(ca)s) and person %(b)s (%(cb)s) become one person; their confirmations "
                 "weigh the same, so the category goes to review. One person fewer."),
}
EFFECT_DIFFERENT = {
    "split": N_("Person %(a)s (%(ca)s) is split: these two records can no longer be one person. "
                "One person more."),
    "apart": N_("Persons %(a)s and %(b)s stay two persons: nothing changes now, and no later night joins "
                "these two records."),
}


def category_label(code, lang: Language) -> str:
    """A category's label, or a dash where the person has none."""
    return labels.category(code, lang) if isinstance(code, str) else DASH


def level_label(label: str, lang: Language) -> str:
    for pattern, text in LEVELS:
        found = pattern.search(label)
        if found:
            return lang.gettext(text) % found.groupdict()
    return label


def decision_label(code, lang: Language) -> str:
    return lang.gettext(DECISIONS[code]) if code in DECISIONS else str(code or DASH)


def _blank(value) -> bool:
    return value is None or (not isinstance(value, str) and pd.isna(value)) or value == ""


def _cell(value, *, cls: str = "", num: bool = False) -> str:
    classes = " ".join(c for c in (cls, "num" if num else "") if c)
    attrs = f' class="{classes}"' if classes else ""
    return f"<td{attrs}>{DASH if _blank(value) else esc(value)}</td>"


def _table(head: Sequence[str], rows: Iterable[str], cls: str = "") -> str:
    ths = "".join(f"<th>{esc(h)}</th>" for h in head)
    return (f'<div class="scroll"><table class="{esc(cls)}"><thead><tr>{ths}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>')


@dataclass(frozen=True)
class Context:
    """What every review page needs: the language, the user, where the review lives, the filter."""
    lang: Language
    user: str
    base: str  # the review's path, e.g. /ridni-hq/review
    flt: QueueFilter = QueueFilter()

    def url(self, path: str = "", **params) -> str:
        query = {**self.flt.params(), **{k: v for k, v in params.items() if v not in (None, "")}}
        return self.base + path + ("?" + urlencode(query) if query else "")


def _document(ctx: Context, title: str, body: str, *, script: bool = False, here: str = "") -> str:
    _ = ctx.lang.gettext
    switch = "".join(
        f"<strong>{esc(name)}</strong>" if code == ctx.lang.code else
        f'<a href="{esc(here or ctx.url())}{"&" if "?" in (here or ctx.url()) else "?"}lang={code}" '
        f'hreflang="{code}" lang="{code}">{esc(name)}</a>'
        for code, name in LANGUAGES.items())
    hq = ctx.base.rsplit("/review", 1)[0] + "/"
    tag = f'<script src="{esc(ctx.base)}/static/review.js" defer></script>' if script else ""
    what, who = _("Case officers' review of record pairs"), _("signed in as %(user)s") % {"user": ctx.user}
    queue_link, hq_link = _("Queue"), _("Headquarters page")
    return f"""<!doctype html>
<html lang="{ctx.lang.code}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>ridni · {esc(title)}</title><style>{REVIEW_STYLE}</style>{tag}</head>
<body><header><span class="lang">{switch}</span><h1>{esc(title)}</h1>
<p>{esc(what)} · {esc(who)}</p>
<nav class="crumbs"><a href="{esc(ctx.url())}">{esc(queue_link)}</a> · <a href="{esc(hq)}">{esc(hq_link)}</a></nav>
</header><main>{body}</main></body></html>
"""


# ------------------------------------------------------------------------------------------ the queue

@dataclass(frozen=True)
class QueueView:
    page: QueuePage
    sizes: dict[str, int]
    per_day: pd.DataFrame  # day, decision, n (last 7 days)
    choices: dict[str, list[str]]  # source, region
    mine: pd.DataFrame  # the officer's latest decisions


def _sizes(ctx: Context, view: QueueView) -> str:
    _, lang = ctx.lang.gettext, ctx.lang
    week = int(view.per_day["n"].sum()) if len(view.per_day) else 0
    figures = [("size-pair", view.sizes["pair"], _("record pairs")),
               ("size-conflict", view.sizes["conflict"], _("persons with conflicting evidence")),
               ("decided-week", week, _("decisions in the last 7 nights"))]
    boxes = "".join(f'<div id="{key}"><b>{esc(lang.number(n))}</b>{esc(text)}</div>' for key, n, text in figures)
    title = _("What waits")
    return (f'<section id="sizes"><h2>{esc(title)}</h2><div class="sizes">{boxes}</div>'
            + _per_day(ctx, view.per_day) + "</section>")


def _per_day(ctx: Context, per_day: pd.DataFrame) -> str:
    if per_day.empty:
        return ""
    _ = ctx.lang.gettext
    table = per_day.pivot_table(index="day", columns="decision", values="n", aggfunc="sum", fill_value=0)
    rows = []
    for day, counts in table.sort_index(ascending=False).iterrows():
        values = [int(counts.get(d, 0)) for d in DECISIONS]
        rows.append(f'<tr data-day="{esc(day)}"><th scope="row">{esc(ctx.lang.date(day))}</th>'
                    + "".join(_cell(ctx.lang.number(v), num=True) for v in values)
                    + _cell(ctx.lang.number(sum(values)), num=True) + "</tr>")
    head = [_("night"), *(decision_label(d, ctx.lang) for d in DECISIONS), _("all")]
    return _table(head, rows, "per-day")


def _select(name: str, label: str, options: list[tuple[str, str]], chosen) -> str:
    opts = "".join(f'<option value="{esc(v)}"{" selected" if str(chosen or "") == v else ""}>{esc(t)}</option>'
                   for v, t in options)
    return f'<label>{esc(label)}<select name="{name}">{opts}</select></label>'


def _filter_form(ctx: Context, view: QueueView) -> str:
    _, lang = ctx.lang.gettext, ctx.lang
    flt = ctx.flt
    sources = [("", _("any source"))] + [(s, s) for s in view.choices["source"]]
    regions = [("", _("any region"))] + [(r, region_label(r, lang)) for r in view.choices["region"]]
    kinds = [("", _("pairs and conflicts")), ("pair", _("record pairs")), ("conflict", _("category conflicts"))]
    ages = [("", _("any time"))] + [(str(n), lang.ngettext("%(n)s night or more", "%(n)s nights or more", n)
                                     % {"n": n}) for n in (1, 7, 30)]
    return (f'<form class="filter" method="get" action="{esc(ctx.base)}">'
            + _select("source", _("Source"), sources, flt.source)
            + _select("region", _("Region"), regions, flt.region)
            + _select("kind", _("Kind"), kinds, flt.kind)
            + _select("min_nights", _("In the queue"), ages, flt.min_nights)
            + "<button type=\"submit\">" + esc(_("Filter")) + "</button></form>")


def _queue_rows(ctx: Context, rows: pd.DataFrame, first: int) -> list[str]:
    lang = ctx.lang
    out = []
    for i, r in enumerate(rows.itertuples(index=False), start=first):
        impact = IMPACTS[int(r.impact)]
        if r.kind == "conflict":
            out.append(_conflict_row(ctx, r, i, impact))
            continue
        persons = (f"{category_label(r.left_category, lang)} \u2194 {category_label(r.right_category, lang)}"
                   if r.left_person != r.right_person else
                   lang.gettext("one person: %(category)s") % {"category": category_label(r.left_category, lang)})
        link = f'<a href="{esc(ctx.url(f"/pair/{int(r.pair_id)}"))}">{esc(lang.number(int(r.pair_id)))}</a>'
        skipped = lang.datetime(r.skipped_at) if not _blank(r.skipped_at) else ""
        out.append(f'<tr data-pair="{int(r.pair_id)}" data-impact="{impact}"><td class="num">{i}</td><td>{link}</td>'
                   + _cell(lang.gettext(IMPACT_LABELS[impact]), cls=f"impact-{impact}")
                   + _cell(f"{r.left_source_id} / {r.left_record_key}")
                   + _cell(f"{r.right_source_id} / {r.right_record_key}")
                   + _cell(persons)
                   + _cell(lang.number(r.match_probability, 2), num=True)
                   + _cell(lang.number(int(r.nights)) if not _blank(r.nights) else None, num=True)
                   + _cell(skipped) + "</tr>")
    return out


def _person_link(ctx: Context, person: int) -> str:
    text = ctx.lang.gettext("person %(id)s") % {"id": ctx.lang.number(person)}
    return f'<td><a href="{esc(ctx.url(f"/conflict/{person}"))}">{esc(text)}</a></td>'


def _conflict_row(ctx: Context, r, i: int, impact: str) -> str:
    lang = ctx.lang
    person = int(r.person_id)
    link = f'<a href="{esc(ctx.url(f"/conflict/{person}"))}">{esc(lang.number(person))}</a>'
    now = lang.gettext("person %(id)s: %(category)s, %(choices)s?") % {
        "id": lang.number(person), "category": category_label(r.category, lang),
        "choices": f"{category_label(r.left_category, lang)} / {category_label(r.right_category, lang)}"}
    skipped = lang.datetime(r.skipped_at) if not _blank(r.skipped_at) else ""
    return (f'<tr data-conflict="{person}" data-impact="{impact}"><td class="num">{i}</td><td>{link}</td>'
            + _cell(lang.gettext(IMPACT_LABELS[impact]), cls=f"impact-{impact}")
            + _cell(f"{r.left_source_id} / {r.left_record_key}")
            + _cell(f"{r.right_source_id} / {r.right_record_key}")
            + _cell(now) + _cell(lang.gettext("category conflict"))
            + _cell(lang.number(int(r.nights)) if not _blank(r.nights) else None, num=True)
            + _cell(skipped) + "</tr>")


def render_queue(ctx: Context, view: QueueView, *, done: str = "") -> str:
    _, lang = ctx.lang.gettext, ctx.lang
    page = view.page
    flash = f'<p class="flash" id="flash">{esc(done)}</p>' if done else ""
    if page.rows.empty:
        empty = _("Nothing waits for a review under this filter.")
        listing = f'<p id="queue-empty">{esc(empty)}</p>'
    else:
        first = (page.page - 1) * page.per_page + 1
        head = ["#", _("pair or person"), _("impact"), _("record"), _("record"), _("persons now"),
                _("probability"), _("nights in the queue"), _("skipped")]
        start, then = _("Review the first pair"), _("then each next pair opens by itself")
        listing = (f'<p><a id="start" href="{esc(ctx.url("/next"))}" accesskey="s">{esc(start)}</a> '
                   f'<span class="muted">({esc(then)})</span></p>'
                   + _table(head, _queue_rows(ctx, page.rows, first), "queue"))
        previous, following = _("previous"), _("next")
        links = []
        if page.page > 1:
            links.append(f'<a rel="prev" href="{esc(ctx.url(page=page.page - 1))}">&larr; {esc(previous)}</a>')
        links.append(esc(_("page %(page)s of %(pages)s (%(total)s to decide)") % {
            "page": lang.number(page.page), "pages": lang.number(page.pages), "total": lang.number(page.total)}))
        if page.page < page.pages:
            links.append(f'<a rel="next" href="{esc(ctx.url(page=page.page + 1))}">{esc(following)} &rarr;</a>')
        listing += f'<p class="pages">{" · ".join(links)}</p>'
    mine = ""
    if len(view.mine):
        rows = [f'<tr><td class="num">{int(r.decision_id)}</td>'
                + (f'<td><a href="{esc(ctx.url(f"/pair/{int(r.pair_id)}"))}">{esc(lang.number(int(r.pair_id)))}</a></td>'
                   if not _blank(r.pair_id) else _person_link(ctx, int(r.person_id)))
                + _cell(decision_label(r.decision, lang)) + _cell(lang.datetime(r.decided_at)) + "</tr>"
                for r in view.mine.itertuples(index=False)]
        again = _("Open a pair to decide it again: the newer decision replaces the older, and both stay in the "
                  "history.")
        mine = ('<section id="mine"><h2>' + esc(_("Your latest decisions")) + "</h2>"
                + _table([_("no."), _("pair or person"), _("decision"), _("when")], rows, "mine")
                + f'<p class="note">{esc(again)}</p></section>')
    order = _("First the pairs and conflicts whose decision would move a person out of missing, then those that "
              "would change a headline group, then the rest; within each, the least certain first (a conflict of "
              "evidence of equal weight before any pair). What was marked not sure comes last.")
    heading = _("Queue")
    body = (flash + _sizes(ctx, view)
            + f'<section id="queue"><h2>{esc(heading)}</h2>{_filter_form(ctx, view)}'
            + f'<p class="note">{esc(order)}</p>{listing}</section>' + mine)
    return _document(ctx, _("Review queue"), body, here=ctx.url(page=page.page if page.page > 1 else None))


# ------------------------------------------------------------------------------------------ one pair

def _name(side: dict) -> str:
    parts = [side.get(k) for k in ("surname", "first_name", "patronymic")]
    text = " ".join(p for p in parts if isinstance(p, str) and p)
    return text or (side.get("full_name") or "")


def _matched_name(side: dict) -> str:
    return " ".join(p for p in (side.get(k) for k in ("surname_key", "first_lat", "patronymic_lat"))
                    if isinstance(p, str) and p)


def _identifier(side: dict, key: str, equal: bool | None, lang: Language) -> str:
    value = side.get(key)
    if _blank(value):
        return DASH
    if equal is None:
        return esc(value)
    mark = lang.gettext("the same on both sides") if equal else lang.gettext("differs")
    return f'<span class="id">{esc(value)}</span> <span class="muted">({esc(mark)})</span>'


def _record_rows(view: PairView, lang: Language) -> list[str]:
    _ = lang.gettext
    left, right = view.left, view.right

    def row(key: str, label: str, lv, rv, *, compare: bool = False, html: bool = False) -> str:
        cls = "differs" if compare and not _blank(lv) and not _blank(rv) and str(lv) != str(rv) else ""
        if html:  # already escaped
            cells = "".join(f"<td>{DASH if _blank(v) else v}</td>" for v in (lv, rv))
        else:
            cells = _cell(lv, cls=cls) + _cell(rv, cls=cls)
        return f'<tr data-field="{key}"><th scope="row">{esc(label)}</th>{cells}</tr>'

    def both(fn):
        return fn(left), fn(right)

    precision = {"day": _("full date"), "month": _("year and month"), "year": _("year only")}
    rows = [
        row("source", _("Source"), *both(lambda s: s.get("source_id"))),
        row("record_key", _("Record key"), *both(lambda s: s.get("record_key"))),
        row("name", _("Name as delivered"), *both(_name)),
        row("name_matched", _("Name as compared (Latin transliteration)"), *both(_matched_name), compare=True),
        row("first_key", _("Given-name id"), *both(lambda s: s.get("first_key")), compare=True),
        row("birth_date", _("Birth date as delivered"), *both(lambda s: s.get("birth_date"))),
        row("birth_parsed", _("Birth date as compared (?? = not given)"),
            *both(lambda s: s.get("birth_parsed") and f"{s['birth_parsed']} · "
                  f"{precision.get(s.get('birth_precision'), s.get('birth_precision') or '')}"), compare=True),
        row("sex", _("Sex"), *both(lambda s: s.get("sex_matched") or s.get("sex")), compare=True),
        row("region", _("Region"), *both(lambda s: region_label(s.get("region"), lang) or s.get("region_delivered")),
            compare=True),
        row("rnokpp", _("RNOKPP (last digits)"),
            *both(lambda s: _identifier(s, "rnokpp", view.identifiers_equal.get("rnokpp"), lang)), html=True),
        row("service_no", _("Service number (last digits)"),
            *both(lambda s: _identifier(s, "service_no", view.identifiers_equal.get("service_no"), lang)), html=True),
        row("person_type", _("Person type in the source"), *both(lambda s: s.get("person_type"))),
        row("status", _("Status in the source"), *both(lambda s: s.get("status"))),
        row("status_date", _("Status date"), *both(lambda s: lang.date(s.get("status_date")))),
        row("registered_on", _("Registered"), *both(lambda s: lang.date(s.get("registered_on")))),
        row("disappeared_on", _("Disappeared"), *both(lambda s: lang.date(s.get("disappeared_on")))),
        row("first_seen_on", _("First received"), *both(lambda s: lang.date(s.get("first_seen_on")))),
        row("withdrawn_on", _("Withdrawn by the source"), *both(lambda s: lang.date(s.get("withdrawn_on")))),
        row("person", _("Linked to person (how)"),
            *both(lambda s: s.get("person_id") and f"{s['person_id']} ({s.get('link_rule')})")),
        row("category", _("The person's category now"), *both(lambda s: category_label(s.get("category"), lang))),
    ]
    return rows


def _levels(view: PairView, lang: Language) -> str:
    _ = lang.gettext
    compared = {
        "surname": lambda s: s.get("surname_key"),
        "first_name": lambda s: " / ".join(v for v in (s.get("first_key"), s.get("first_lat")) if v),
        "patronymic": lambda s: s.get("patronymic_lat"),
        "birth_date": lambda s: s.get("birth_parsed"),
        "sex": lambda s: s.get("sex_matched"),
        "region": lambda s: s.get("region"),
    }
    ordered = sorted(view.levels, key=lambda lv: FIELD_ORDER.index(lv.field) if lv.field in FIELD_ORDER else 99)
    rows = []
    for lv in ordered:
        show = compared.get(lv.field, lambda s: None)
        weight = DASH if lv.weight is None else (("+" if lv.weight > 0 else "") + lang.number(lv.weight, 2))
        rows.append(f'<tr data-field="{esc(lv.field)}">'
                    + _cell(lang.gettext(FIELDS[lv.field]) if lv.field in FIELDS else lv.field)
                    + _cell(show(view.left)) + _cell(show(view.right))
                    + _cell(level_label(lv.label, lang)) + _cell(weight, num=True) + "</tr>")
    table = _table([_("field"), _("left, as compared"), _("right, as compared"), _("Splink's level"),
                    _("weight")], rows, "levels")
    prior = DASH if view.prior_weight is None else lang.number(view.prior_weight, 2)
    total = DASH if view.match_weight is None else lang.number(view.match_weight, 2)
    note = _("Weights are log2(m/u) of the stored model; the prior (two records drawn at random) is %(prior)s, "
             "the pair's match weight %(total)s, its match probability %(p)s. A weight shown as a dash was not "
             "estimated.") % {"prior": prior, "total": total, "p": lang.number(view.match_probability, 3)}
    heading = _("How Splink compared them")
    return (f'<section id="comparison"><h2>{esc(heading)}</h2>{table}'
            f'<p class="note">{esc(note)}</p></section>')


def _others(view: PairView, lang: Language) -> str:
    _ = lang.gettext

    def listing(person, frame: pd.DataFrame) -> str:
        title, none = _("Other records of person %(id)s") % {"id": person}, _("none")
        if frame.empty:
            return f'<div><h3>{esc(title)}</h3><p class="muted">{esc(none)}</p></div>'
        rows = ["<tr>" + _cell(r.source_id) + _cell(r.record_key) + _cell(_name(r._asdict()))
                + _cell(r.birth_date) + _cell(r.status) + _cell(lang.date(r.status_date)) + _cell(r.link_rule)
                + "</tr>" for r in frame.itertuples(index=False)]
        head = [_("source"), _("record key"), _("name"), _("birth date"), _("status"), _("status date"),
                _("linked by")]
        return f"<div><h3>{esc(title)}</h3>{_table(head, rows, 'other-records')}</div>"

    a, b = view.effect.left_person, view.effect.right_person
    parts = []
    if a is not None:
        parts.append(listing(a, view.left_others))
    if b is not None and b != a:
        parts.append(listing(b, view.right_others))
    heading = _("What else each record is linked to")
    return (f'<section id="others"><h2>{esc(heading)}</h2>'
            f'<div class="others">{"".join(parts)}</div></section>')


def effect_texts(effect: Effect, lang: Language) -> tuple[str, str]:
    """What "same" and "different" would change, as sentences."""
    values = {"a": effect.left_person if effect.left_person is not None else DASH,
              "b": effect.right_person if effect.right_person is not None else DASH,
              "ca": category_label(effect.left_category, lang), "cb": category_label(effect.right_category, lang),
              "result": category_label(effect.result, lang)}
    return (lang.gettext(EFFECT_SAME[effect.same]) % values,
            lang.gettext(EFFECT_DIFFERENT[effect.different]) % values)


def _history(view: PairView, lang: Language) -> str:
    if view.history.empty:
        return ""
    _ = lang.gettext
    rows = ["<tr>" + _cell(int(r.decision_id), num=True) + _cell(decision_label(r.decision, lang))
            + _cell(r.decided_by) + _cell(lang.datetime(r.decided_at)) + _cell(r.note) + "</tr>"
            for r in view.history.itertuples(index=False)]
    heading = _("Decisions on this pair, newest first")
    return (f'<section id="history"><h2>{esc(heading)}</h2>'
            + _table([_("no."), _("decision"), _("by"), _("when"), _("note")], rows, "history") + "</section>")


def render_pair(ctx: Context, view: PairView, *, done: str = "") -> str:
    _, lang = ctx.lang.gettext, ctx.lang
    same, different = effect_texts(view.effect, lang)
    flash = f'<p class="flash" id="flash">{esc(done)}</p>' if done else ""
    standing = ""
    if view.decision:
        now = _("Standing decision: %(decision)s (%(by)s).") % {
            "decision": decision_label(view.decision, lang), "by": view.decided_by or DASH}
        replaces = _("A new decision replaces it; both stay in the history.")
        standing = f'<p id="standing"><b>{esc(now)}</b> {esc(replaces)}</p>'
    summary = _("Match probability %(p)s, match weight %(w)s; in the queue since %(since)s.") % {
        "p": lang.number(view.match_probability, 3),
        "w": DASH if view.match_weight is None else lang.number(view.match_weight, 2),
        "since": lang.date(view.first_queued_on)}
    would, if_same, if_different = _("What the decision would change"), _("Same person"), _("Different persons")
    effect = (f'<section id="effect"><h2>{esc(would)}</h2>'
              f'<p class="effect" id="effect-same"><b>{esc(if_same)}:</b> {esc(same)}</p>'
              f'<p class="effect" id="effect-different"><b>{esc(if_different)}:</b> {esc(different)}</p>'
              "</section>")
    side_by_side = _("The two records side by side")
    highlighted = _("Highlighted: the compared values differ. Identifiers show only their last digits.")
    records = (f'<section id="records"><h2>{esc(side_by_side)}</h2>'
               + _table(["", _("left record"), _("right record")], _record_rows(view, lang), "pair")
               + f'<p class="note">{esc(highlighted)}</p></section>')
    hidden = "".join(f'<input type="hidden" name="{esc(k)}" value="{esc(v)}">'
                     for k, v in {"version": view.version, **ctx.flt.params()}.items())
    buttons = "".join(
        f'<button type="submit" name="decision" value="{code}" class="{cls}" accesskey="{key}" data-key="{key}">'
        f'{esc(label)} <kbd>{key.upper()}</kbd></button>'
        for code, cls, key, label in (("same", "same", "s", _("Same person")),
                                      ("different", "different", "d", _("Different persons")),
                                      ("not_sure", "skip", "n", _("Not sure (skip)"))))
    keys = _("Keys: S same, D different, N not sure, / to write a note (Esc leaves it).")
    note = _("Note (optional)")
    form = (f'<form class="decide" id="decide" method="post" action="{esc(ctx.url(f"/pair/{view.pair_id}"))}">'
            f'{hidden}<label for="note">{esc(note)}</label>'
            f'<textarea id="note" name="note" maxlength="2000"></textarea><p>{buttons}</p>'
            f'<p class="note">{esc(keys)}</p></form>')
    body = (flash + f'<p id="summary">{esc(summary)}</p>' + standing + effect + records + _levels(view, lang)
            + _others(view, lang) + _history(view, lang) + form)
    title = _("Pair %(id)s") % {"id": lang.number(view.pair_id)}
    return _document(ctx, title, body, script=True, here=ctx.url(f"/pair/{view.pair_id}"))


def render_message(ctx: Context, title: str, text: str, link: tuple[str, str] | None = None) -> str:
    more = f'<p><a id="again" href="{esc(link[0])}">{esc(link[1])}</a></p>' if link else ""
    return _document(ctx, title, f'<section id="message"><p>{esc(text)}</p>{more}</section>')


# ------------------------------------------------------------------------------------------ one conflict

CHOICE_KEYS = "123456789"  # the competing records' keys, in the order shown


def choice_effect(category_now, result, moves_group: bool, lang: Language) -> str:
    """What choosing would make of the person: "stays captive_pow", "becomes ..., moves between headline groups"."""
    values = {"category": category_label(result, lang)}
    if result == category_now:
        return lang.gettext("stays %(category)s") % values
    if moves_group:
        return lang.gettext("becomes %(category)s, moves between headline groups") % values
    return lang.gettext("becomes %(category)s") % values


def _conflict_evidence(view: ConflictView, lang: Language) -> str:
    _ = lang.gettext
    competing = {c.ref for c in view.choices}
    rows = []
    for r in view.evidence.itertuples(index=False):
        ref = f"{r.source_id}/{r.record_key}"
        mark = _("competing") if ref in competing else ""
        rows.append(f'<tr data-record="{esc(ref)}"{" class=competing" if mark else ""}>'
                    + _cell(labels.source(r.source_id, lang)) + _cell(r.record_key) + _cell(r.status)
                    + _cell(category_label(r.category, lang) + (" · " + _("says only: held") if r.generic else ""))
                    + _cell(lang.date(r.effective_date)) + _cell(lang.number(int(r.authority)), num=True)
                    + _cell(lang.date(r.registered_on)) + _cell(lang.date(r.first_seen_on)) + _cell(mark) + "</tr>")
    head = [_("source"), _("record key"), _("status in the source"), _("category it gives"), _("effective date"),
            _("source rank"), _("registered"), _("first received"), ""]
    heading = _("All of the person's evidence, latest first")
    return f'<section id="evidence"><h2>{esc(heading)}</h2>{_table(head, rows, "evidence")}</section>'


def _conflict_history(view: ConflictView, lang: Language) -> str:
    if view.history.empty:
        return ""
    _ = lang.gettext
    rows = ["<tr>" + _cell(int(r.decision_id), num=True) + _cell(decision_label(r.decision, lang))
            + _cell(f"{r.evidence_source_id}/{r.evidence_record_key}" if not _blank(r.evidence_source_id) else None)
            + _cell(r.decided_by) + _cell(lang.datetime(r.decided_at)) + _cell(r.note) + "</tr>"
            for r in view.history.itertuples(index=False)]
    heading = _("Decisions on this person's evidence, newest first")
    return (f'<section id="history"><h2>{esc(heading)}</h2>'
            + _table([_("no."), _("decision"), _("record"), _("by"), _("when"), _("note")], rows, "history")
            + "</section>")


def render_conflict(ctx: Context, view: ConflictView, *, done: str = "") -> str:
    _, lang = ctx.lang.gettext, ctx.lang
    flash = f'<p class="flash" id="flash">{esc(done)}</p>' if done else ""
    title = _("Category conflict of person %(id)s") % {"id": lang.number(view.person_id)}
    now = _("Counted now as %(category)s (rule %(rule)s).") % {
        "category": category_label(view.category, lang),
        "rule": " / ".join(r for r in (view.rule, view.kind_rule) if isinstance(r, str))}
    if view.conflict is None:
        text = _("This person's evidence does not conflict: there is nothing to decide.")
        body = flash + f'<p id="summary">{esc(now)}</p><p id="no-conflict">{esc(text)}</p>' + _conflict_history(
            view, lang)
        return _document(ctx, title, body, here=ctx.url(f"/conflict/{view.person_id}"))
    why = lang.gettext(CONFLICTS[view.conflict])
    rule = _("The rule that made it a conflict: %(rule)s.") % {"rule": view.conflict_rule}
    standing = ""
    if view.settled_by is not None:
        settled = _("Settled by decision no. %(id)s: it binds every night until the person has evidence it did not "
                    "see. A new decision replaces it; both stay in the history.") % {"id": view.settled_by}
        standing = f'<p id="standing"><b>{esc(settled)}</b></p>'
    rows = []
    buttons = []
    for key, c in zip(CHOICE_KEYS, view.choices, strict=False):
        effect = choice_effect(view.category, c.result, c.moves_group, lang)
        rows.append(f'<tr data-record="{esc(c.ref)}" data-category="{esc(c.category)}" data-key="{key}">'
                    f'<td class="num"><kbd>{key}</kbd></td>'
                    + _cell(labels.source(c.source_id, lang)) + _cell(c.record_key) + _cell(c.status)
                    + _cell(category_label(c.category, lang)) + _cell(lang.date(c.effective_date))
                    + _cell(lang.date(c.registered_on)) + _cell(lang.date(c.first_seen_on))
                    + _cell(effect, cls="choice-effect") + "</tr>")
        label = _("%(record)s stands") % {"record": c.record_key}
        buttons.append(f'<button type="submit" name="decision" value="stands:{esc(c.ref)}" class="same" '
                       f'data-key="{key}">{esc(label)} <kbd>{key}</kbd></button>')
    wrong = choice_effect(view.category, view.all_wrong_result, view.all_wrong_moves_group, lang)
    both_wrong, not_sure = _("Both wrong (set them aside)"), _("Not sure (skip)")
    buttons.append(f'<button type="submit" name="decision" value="all_wrong" class="different" accesskey="w" '
                   f'data-key="w">{esc(both_wrong)} <kbd>W</kbd></button>')
    buttons.append(f'<button type="submit" name="decision" value="not_sure" class="skip" accesskey="n" '
                   f'data-key="n">{esc(not_sure)} <kbd>N</kbd></button>')
    head = ["", _("source"), _("record key"), _("status in the source"), _("category it gives"),
            _("effective date"), _("registered"), _("first received"), _("if it stands, the person")]
    heading, if_wrong = _("The competing records"), _("If both are wrong, the person %(effect)s.") % {
        "effect": wrong}
    competing = (f'<section id="competing"><h2>{esc(heading)}</h2><p>{esc(why)} {esc(rule)}</p>'
                 + _table(head, rows, "competing") + f'<p class="effect" id="effect-all-wrong">{esc(if_wrong)}</p>'
                 + "</section>")
    hidden = "".join(f'<input type="hidden" name="{esc(k)}" value="{esc(v)}">'
                     for k, v in {"version": view.version, **ctx.flt.params()}.items())
    keys = _("Keys: 1, 2, ... the record that stands, W both wrong, N not sure, / to write a note (Esc leaves it).")
    note = _("Note (optional)")
    form = (f'<form class="decide" id="decide" method="post" '
            f'action="{esc(ctx.url(f"/conflict/{view.person_id}"))}">'
            f'{hidden}<label for="note">{esc(note)}</label>'
            f'<textarea id="note" name="note" maxlength="2000"></textarea><p>{"".join(buttons)}</p>'
            f'<p class="note">{esc(keys)}</p></form>')
    body = (flash + f'<p id="summary">{esc(now)}</p>' + standing + competing + _conflict_evidence(view, lang)
            + _conflict_history(view, lang) + form)
    return _document(ctx, title, body, script=True, here=ctx.url(f"/conflict/{view.person_id}"))
