"""The SVG line chart of the headline groups: deterministic, gaps for suppressed nights, well-formed, escaped."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd

from ridni.publish.chart import headline_frame, line_chart_svg

SVG = "{http://www.w3.org/2000/svg}"
N = [dt.date(2026, 11, d) for d in range(1, 6)]


def _rows() -> pd.DataFrame:
    values = {"all missing": [30012, 29990, 29950, 29931, 29902], "deported children": [9, 7, None, 6, 5],
              "returned": [None, None, None, None, None]}
    return pd.DataFrame([(n, o, g, v[i]) for o, (g, v) in enumerate(values.items()) for i, n in enumerate(N)],
                        columns=["night", "ord", "grp", "count_value"])


def test_byte_identical_whatever_the_row_order():
    rows = _rows()
    one = line_chart_svg(headline_frame(rows), highlight=N[2])
    two = line_chart_svg(headline_frame(rows.sample(frac=1, random_state=3)), highlight=N[2])
    assert one == two
    assert one.encode() == line_chart_svg(headline_frame(rows), highlight=N[2]).encode()


def test_groups_keep_the_marts_order():
    assert list(headline_frame(_rows().sample(frac=1, random_state=5)).columns) == [
        "all missing", "deported children", "returned"]


def test_suppressed_nights_are_gaps():
    svg = line_chart_svg(headline_frame(_rows()))
    root = ET.fromstring(svg)
    panels = root.findall(f"{SVG}g")
    assert len(panels) == 3
    missing, children, returned = ([p.get("d") for p in g.findall(f"{SVG}path")] for g in panels)
    assert len(missing) == 1 and missing[0].count("M") == 1 and missing[0].count("L") == 4
    assert len(children) == 1 and children[0].count("M") == 2  # broken at the suppressed night
    assert returned == []  # nothing published: no line
    assert "no published value" in svg
    assert "Gaps:" in svg


def test_well_formed_and_escaped():
    frame = pd.DataFrame({'<b>"x"</b> & y': [1.0, np.nan, 3.0]}, index=N[:3])
    svg = line_chart_svg(frame, title="<script>")
    ET.fromstring(svg)
    assert "<script>" not in svg and "<b>" not in svg
    assert "&lt;b&gt;&quot;x&quot;&lt;/b&gt; &amp; y" in svg
    assert "http" not in svg.replace("http://www.w3.org/2000/svg", "")  # no external reference


def test_one_night_and_no_night():
    one = line_chart_svg(pd.DataFrame({"a": [5.0]}, index=[N[0]]))
    assert "<circle" in ET.tostring(ET.fromstring(one), encoding="unicode") or "circle" in one
    empty = line_chart_svg(pd.DataFrame())
    ET.fromstring(empty)
    assert "No nights published yet." in empty


def test_scales_span_the_values_so_a_small_change_shows():
    root = ET.fromstring(line_chart_svg(headline_frame(_rows())))
    missing = root.findall(f"{SVG}g")[0]
    ticks = [t.text for t in missing.findall(f"{SVG}text") if t.get("text-anchor") == "end" and t.get("class") is None]
    values = [int(t.replace(",", "")) for t in ticks if t and t.replace(",", "").isdigit()]
    assert values and min(values) > 29000, ticks  # not forced down to zero
    assert min(values) <= 29902 and max(values) >= 30012
    ys = [float(c.get("cy")) for c in missing.findall(f"{SVG}circle")]
    assert max(ys) - min(ys) > 40  # 110 persons apart out of 30,000 spread over the panel's height


def test_every_point_has_its_night_and_value_on_hover():
    root = ET.fromstring(line_chart_svg(headline_frame(_rows()), labels={"all missing": "Missing"}))
    missing, children, _ = root.findall(f"{SVG}g")
    hover = [c.find(f"{SVG}title").text for c in missing.findall(f"{SVG}circle")]
    assert hover == [f"Missing \u00b7 {n.isoformat()}: {v:,}" for n, v in
                     zip(N, [30012, 29990, 29950, 29931, 29902], strict=True)]
    assert len(children.findall(f"{SVG}circle")) == 4  # the suppressed night has no point


def test_each_panel_names_its_change_on_the_highlighted_night():
    def change(highlight):
        root = ET.fromstring(line_chart_svg(headline_frame(_rows()), highlight=highlight))
        return [next((t.text for t in g.findall(f"{SVG}text") if t.get("class") == "change"), None)
                for g in root.findall(f"{SVG}g")]

    assert change(N[4]) == ["change: \u221229", "change: \u22121", None]
    assert change(N[3]) == ["change: \u221219", None, None]  # deported children: the night before is suppressed


def test_words_and_numbers_in_the_readers_language():
    from ridni.web.i18n import Language

    uk = Language("uk")
    svg = line_chart_svg(headline_frame(_rows()), number=uk.number, date=uk.short_date, gap_text="Розриви")
    assert "30\u00a0012" in svg and "лист." in svg and "Розриви" in svg
    ET.fromstring(svg)
