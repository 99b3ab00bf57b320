"""The headline groups over all nights as an SVG line chart: no plotting library, no external resource.

One small panel per group (small multiples), each with its own vertical scale: the groups differ by
orders of magnitude (tens of thousands missing, a handful of deported children), and one shared axis
would flatten all but the largest. Each scale spans the group's own values, not zero to the maximum, so a
change of one person is visible in a group of thirty thousand; the axis labels say where it starts. Each
panel names the group's change on the highlighted night against the night before, and every point carries
its night and value as an SVG ``<title>`` (shown on hover, no script). A night without a published value
(suppressed, 1 to 4, or absent) is a gap in the line, never an interpolated or guessed point.

The output is deterministic byte for byte: the same frame gives the same text (fixed number
formatting, no ids, no timestamps), so the headquarters page and the nightly summary export embed
the same image, and a rerun of a night changes nothing.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Callable, Mapping, Sequence

import pandas as pd

# Okabe-Ito: distinguishable with the common colour-vision deficiencies
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
FONT = "DejaVu Sans, Arial, Helvetica, sans-serif"
# The chart shows the year up to the night: a trend a reader can see, and a nightly export whose cost does
# not grow with the years of history.
CHART_DAYS = 365


def headline_frame(rows: pd.DataFrame) -> pd.DataFrame:
    """Pivot rows of ``marts.headline`` (night, ord, grp, count_value) into nights x groups.

    Groups keep the mart's ``ord``; a suppressed value (NULL) stays missing, so the chart shows a gap.
    """
    if rows.empty:
        return pd.DataFrame(dtype="float64")
    order = (rows[["ord", "grp"]].drop_duplicates("grp").sort_values(["ord", "grp"], kind="stable")["grp"]
             .tolist())
    nights = rows.assign(night=rows["night"].map(_as_date))
    values = pd.to_numeric(nights["count_value"], errors="coerce").astype("float64")
    wide = nights.assign(value=values).pivot_table(index="night", columns="grp", values="value",
                                                   aggfunc="first", dropna=False)
    return wide.reindex(columns=order).sort_index()


def line_chart_svg(frame: pd.DataFrame, *, title: str = "Headline groups, night by night",
                   highlight: dt.date | str | None = None, width: int = 760, panel_height: int = 132,
                   columns: int = 2, note: str | None = None, labels: Mapping[str, str] | None = None,
                   number: Callable[[float], str] | None = None, date: Callable[[dt.date], str] | None = None,
                   empty_text: str = "No nights published yet.", no_value_text: str = "no published value",
                   gap_text: str = "Gaps: no published value that night (counts from 1 to 4 are suppressed).",
                   change_text: str = "change: {change}") -> str:
    """Render ``frame`` (index: nights; columns: groups, in display order; values: counts, missing =
    suppressed or not published) as SVG text.

    ``highlight`` marks one night (the night a page shows) with a vertical line in every panel; each panel's
    change is the highlighted night's (else the last night's) against the night before. ``labels`` names the
    groups, ``number`` and ``date`` format values and nights, the ``*_text`` arguments are the chart's words
    (a page passes them in its reader's language).
    """
    number = number or _label
    date = date or dt.date.isoformat
    nights = [_as_date(n) for n in frame.index]
    order = sorted(range(len(nights)), key=lambda i: nights[i])
    nights = [nights[i] for i in order]
    groups = [str(c) for c in frame.columns]
    series = [[_number(frame.iloc[i, j]) for i in order] for j in range(len(groups))]
    mark = _as_date(highlight) if highlight is not None else None

    columns = max(1, min(columns, len(groups) or 1))
    rows = max(1, math.ceil(len(groups) / columns))
    outer, gap_x, gap_y, head = 8, 18, 10, 28
    footer = 22 if note or _has_gaps(series) else 6
    panel_w = (width - 2 * outer - gap_x * (columns - 1)) / columns
    height = head + rows * panel_height + (rows - 1) * gap_y + footer

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{_f(height)}" '
        f'viewBox="0 0 {width} {_f(height)}" role="img" font-family="{FONT}" font-size="11">',
        f"<title>{_esc(title)}</title>",
        f'<rect x="0" y="0" width="{width}" height="{_f(height)}" fill="#ffffff"/>',
        f'<text x="{outer}" y="18" font-size="14" font-weight="bold" fill="#222222">{_esc(title)}</text>',
    ]
    if not groups or not nights:
        out.append(f'<text x="{outer}" y="{head + 20}" fill="#555555">{_esc(empty_text)}</text>')
    words = _Words(number, date, no_value_text, change_text)
    for k, (group, values) in enumerate(zip(groups, series, strict=True)):
        x0 = outer + (k % columns) * (panel_w + gap_x)
        y0 = head + (k // columns) * (panel_height + gap_y)
        name = (labels or {}).get(group, group)
        out.extend(_panel(name, values, nights, mark, PALETTE[k % len(PALETTE)], x0, y0, panel_w, panel_height,
                          words))
    if footer > 6:
        text = note or gap_text
        out.append(f'<text x="{outer}" y="{_f(height - 7)}" fill="#555555">{_esc(text)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


class _Words:
    def __init__(self, number, date, no_value, change):
        self.number, self.date, self.no_value, self.change = number, date, no_value, change

    def signed(self, value: float) -> str:
        return ("+" if value > 0 else "\u2212" if value < 0 else "\u00b1") + self.number(abs(value))


def _change(values: list[float | None], nights: list[dt.date], mark: dt.date | None) -> float | None:
    """The change on ``mark`` (else on the last night) against the night before, when both are published."""
    at = nights.index(mark) if mark in nights else len(nights) - 1
    if at < 1 or values[at] is None or values[at - 1] is None:
        return None
    return values[at] - values[at - 1]


def _panel(group: str, values: list[float | None], nights: list[dt.date], mark: dt.date | None, colour: str,
           x0: float, y0: float, w: float, h: float, words: _Words) -> list[str]:
    left, right, top, bottom = 50, 8, 22, 20
    px0, px1, py0, py1 = x0 + left, x0 + w - right, y0 + top, y0 + h - bottom
    published = [v for v in values if v is not None]
    ymin, ymax = _value_range(min(published), max(published)) if published else (0.0, 2.0)
    first, last = nights[0], nights[-1]
    span = (last - first).days

    def x(night: dt.date) -> float:
        return (px0 + px1) / 2 if span == 0 else px0 + (px1 - px0) * (night - first).days / span

    def y(value: float) -> float:
        return py1 - (py1 - py0) * (value - ymin) / (ymax - ymin)

    change = _change(values, nights, mark)
    out = [
        "<g>",
        f'<rect x="{_f(x0)}" y="{_f(y0)}" width="{_f(w)}" height="{_f(h)}" fill="#fafafa" stroke="#dddddd"/>',
        f'<text x="{_f(x0 + 6)}" y="{_f(y0 + 14)}" font-weight="bold" fill="#222222">{_esc(group)}</text>',
    ]
    if change is not None:
        out.append(f'<text x="{_f(x0 + w - 6)}" y="{_f(y0 + 14)}" text-anchor="end" fill="#0b3d6b" '
                   f'class="change">{_esc(words.change.format(change=words.signed(change)))}</text>')
    for tick in (ymin, (ymin + ymax) / 2, ymax):
        ty = y(tick)
        out.append(f'<line x1="{_f(px0)}" y1="{_f(ty)}" x2="{_f(px1)}" y2="{_f(ty)}" stroke="#e4e4e4"/>')
        out.append(f'<text x="{_f(px0 - 4)}" y="{_f(ty + 4)}" text-anchor="end" fill="#555555">'
                   f"{_esc(words.number(tick))}</text>")
    out.append(f'<text x="{_f(px0)}" y="{_f(py1 + 14)}" fill="#555555">{_esc(words.date(first))}</text>')
    if span:
        out.append(f'<text x="{_f(px1)}" y="{_f(py1 + 14)}" text-anchor="end" fill="#555555">'
                   f"{_esc(words.date(last))}</text>")
    if mark is not None and first <= mark <= last:
        out.append(f'<line x1="{_f(x(mark))}" y1="{_f(py0)}" x2="{_f(x(mark))}" y2="{_f(py1)}" '
                   'stroke="#888888" stroke-dasharray="3 3"/>')
    # one path of segments: every run of published nights is drawn, a missing night breaks the line
    runs: list[list[tuple[float, float]]] = [[]]
    for night, value in zip(nights, values, strict=True):
        if value is None:
            if runs[-1]:
                runs.append([])
            continue
        runs[-1].append((x(night), y(value)))
    segments = [r for r in runs if len(r) > 1]
    if segments:
        d = " ".join("M" + " L".join(f"{_f(a)} {_f(b)}" for a, b in run) for run in segments)
        out.append(f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="2" stroke-linejoin="round" '
                   'stroke-linecap="round"/>')
    # every published night a point, its night and value on hover
    for night, value in zip(nights, values, strict=True):
        if value is not None:
            out.append(f'<circle cx="{_f(x(night))}" cy="{_f(y(value))}" r="3" fill="{colour}">'
                       f"<title>{_esc(group)} \u00b7 {_esc(words.date(night))}: {_esc(words.number(value))}</title>"
                       "</circle>")
    if not published:
        out.append(f'<text x="{_f((px0 + px1) / 2)}" y="{_f((py0 + py1) / 2)}" text-anchor="middle" '
                   f'fill="#777777">{_esc(words.no_value)}</text>')
    out.append("</g>")
    return out


def _has_gaps(series: Sequence[Sequence[float | None]]) -> bool:
    return any(v is None for values in series for v in values)


def _number(value) -> float | None:
    if value is None or value is pd.NA:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) or math.isinf(number) else number


def _as_date(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, pd.Timestamp):
        return value.date()
    return dt.date.fromisoformat(str(value)[:10])


def _value_range(low: float, high: float) -> tuple[float, float]:
    """The vertical scale around the published values: whole steps of 1, 2 or 5 x 10^k, an even number of
    them (so the middle tick is on a step), never below zero, and at least two steps wide."""
    step = _nice_step(max((high - low) / 2, 1.0))
    bottom, top = math.floor(low / step) * step, math.ceil(high / step) * step
    if top == bottom:
        bottom, top = bottom - step, top + step
    if round((top - bottom) / step) % 2:
        top += step
    if bottom < 0:
        bottom, top = 0.0, top - bottom
    return float(bottom), float(top)


def _nice_step(value: float) -> float:
    """The smallest 1, 2 or 5 x 10^k >= value."""
    exponent = math.floor(math.log10(value))
    for base in (1, 2, 5, 10):
        candidate = base * 10.0 ** exponent
        if candidate >= value:
            return candidate
    return 10.0 ** (exponent + 1)


def _label(value: float) -> str:
    number = round(value, 1)
    return f"{int(number):,}" if number == int(number) else f"{number:,.1f}"


def _f(value: float) -> str:
    text = f"{value:.1f}"
    text = "0.0" if text == "-0.0" else text
    return text[:-2] if text.endswith(".0") else text


def _esc(text: str) -> str:
    return html.escape(str(text), quote=True)
