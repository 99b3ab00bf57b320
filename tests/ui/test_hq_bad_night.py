"""A bad night in a real browser: the banner is the first thing on the page, in Ukrainian and in English, and the
page reads at phone width (390 px).

The warehouse (``bad_night_warehouse``) has the hand-written marts of ``hq_marts.py`` and a fourth night on
which six nightly sources sent nothing by the late hour and one drop was rejected. Screenshots go to
tests/ui/output/ (and to docs/img/ with RIDNI_UPDATE_DOCS_SCREENSHOT=1).
"""

from __future__ import annotations

import pytest
from hq_marts import BAD_NIGHT, RECONCILIATION, REJECTED_ON_BAD_NIGHT, SILENT_ON_BAD_NIGHT
from hq_server import hq_page_server, screenshot, sign_in

from ridni.publish.marts import CIVILIANS_HELD, HEADLINE
from ridni.web import labels
from ridni.web.i18n import Language

HEADING = {"uk": "Ця ніч потребує уваги", "en": "Tonight needs attention"}


@pytest.fixture(scope="module")
def server(bad_night_warehouse, airflow_db, tmp_path_factory):
    with hq_page_server(bad_night_warehouse, airflow_db, tmp_path_factory.mktemp("api-server-bad-night")) as running:
        yield running


def _groups_resting_on(sources: set[str]) -> set[str]:
    categories = {c for s, c, *_ in RECONCILIATION if s in sources}
    return {grp for grp, members in HEADLINE if categories & set(members if members is not None else CIVILIANS_HELD)}


@pytest.mark.parametrize("lang", ["uk", "en"])
def test_a_bad_night_is_the_first_thing_on_the_page(server, browser, lang):
    running, password = server
    language = Language(lang)
    context, page = sign_in(browser, running, password)
    try:
        page.goto(f"{running.base_url}/ridni-hq/?night={BAD_NIGHT}&lang={lang}")
        assert page.evaluate("document.documentElement.lang") == lang
        # the first section of the page, above the headline, on the first screen
        assert page.evaluate("document.querySelector('main').firstElementChild.id") == "night-status"
        banner = page.locator("#night-status.bad-night")
        box, headline = banner.bounding_box(), page.locator("#headline").bounding_box()
        assert box["y"] + box["height"] <= headline["y"] and box["y"] < 300
        assert banner.locator("h2").inner_text() == HEADING[lang]

        silent = page.locator("#no-drop").inner_text()
        assert f"({len(SILENT_ON_BAD_NIGHT)})" in silent
        for source in SILENT_ON_BAD_NIGHT:
            assert labels.source(source, language) in silent, source
        assert labels.source("exchange_returns", language) not in silent  # an event source: nothing is normal
        refused = page.locator("#refused").inner_text()
        assert labels.source(REJECTED_ON_BAD_NIGHT, language) in refused
        # tonight's alerts for the operators, by kind and source, without their text
        alerts = page.locator("table.alerts tbody tr")
        assert alerts.count() == len(SILENT_ON_BAD_NIGHT) + 1
        assert page.locator('table.alerts tr[data-alert="late_drop"]').count() == len(SILENT_ON_BAD_NIGHT)
        assert "06:00" not in page.content()

        # the headline figures resting on those sources are marked, the others are not
        marked = set(page.eval_on_selector_all("table.headline tr.stale", "rows => rows.map(r => r.dataset.group)"))
        expected = _groups_resting_on(set(SILENT_ON_BAD_NIGHT) | {REJECTED_ON_BAD_NIGHT})
        assert marked == expected and "returned" not in marked
        title = page.locator('table.headline tr[data-group="all missing"] .stale-mark').get_attribute("title")
        assert labels.source("npu_appeals", language) in title
        screenshot(page, f"hq_bad_night_{lang}.png")
    finally:
        context.close()


@pytest.mark.parametrize("lang", ["uk", "en"])
def test_the_page_at_phone_width(server, browser, lang):
    running, password = server
    context, page = sign_in(browser, running, password, width=390, height=844)
    try:
        page.goto(f"{running.base_url}/ridni-hq/?night={BAD_NIGHT}&lang={lang}")
        # nothing wider than the screen: wide tables scroll inside their own box
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        # the headline table fits its own box (no column scrolled out of sight), every section the screen
        assert page.evaluate("(() => { const box = document.querySelector('table.headline').parentElement;"
                             " return box.scrollWidth - box.clientWidth; })()") <= 0
        for section in page.eval_on_selector_all("main > section", "s => s.map(e => e.getBoundingClientRect().right)"):
            assert section <= 390
        assert page.locator("#night-status").bounding_box()["y"] < 844  # the banner on the first screen
        cells = page.eval_on_selector_all(
            "table.headline th, table.headline td",
            "cells => cells.map(c => { const b = c.getBoundingClientRect();"
            " return [b.left, b.right, c.scrollWidth - c.clientWidth, c.textContent.trim()]; })")
        assert cells
        for left, right, hidden, text in cells:
            assert left >= 0 and right <= 390, (text, left, right)  # every column, the change too, on screen
            assert hidden <= 0, text  # no cell's text cut off
        chart = page.locator("#chart svg").bounding_box()
        assert chart["x"] >= 0 and chart["x"] + chart["width"] <= 390
    finally:
        context.close()
