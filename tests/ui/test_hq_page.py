"""The headquarters page and the operator's view, as a person uses them: in a real browser.

Starts ``airflow api-server`` with the project's plugins against a warehouse filled by the demo's nights
(generated extracts through the pipeline, ``hq_demo.py``), then drives Debian's Chromium through
Playwright: signs in on Airflow's login page, checks that every figure on the page equals the marts
(read with SQL through the reader role), that suppressed cells show "<5" and never a value (the
reconciliation's small counts too, as in its export), that the chart rendered, a past night, a source's
Data Docs page, the page inside the Airflow UI's navigation; then the Airflow UI's DAG list and asset
graph with the project's DAGs. Anonymous requests get no data. The page is read in English (the reader's
choice, kept in a cookie) and in Ukrainian, its default. Screenshots in both languages, at desktop and phone
width, go to tests/ui/output/ (and to docs/img/ with RIDNI_UPDATE_DOCS_SCREENSHOT=1).
"""

from __future__ import annotations

import io
import re
import urllib.error
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from hq_server import hq_page_server, screenshot, sign_in

from ridni import db
from ridni.web import labels
from ridni.web.i18n import LANGUAGES, Language

OUTPUT = Path(__file__).resolve().parent / "output"
NIGHTLY_SOURCES = ["children_deported", "coordhq_cases", "icrc_confirmations", "mvs_register", "npu_appeals",
                   "ombudsman", "sbu_jc"]
EN, UK = Language("en"), Language("uk")


@pytest.fixture(scope="module")
def server(demo_warehouse, airflow_db, tmp_path_factory):
    with hq_page_server(demo_warehouse, airflow_db, tmp_path_factory.mktemp("api-server")) as running:
        yield running


@pytest.fixture(scope="module")
def page(server, browser):
    """A browser page signed in through Airflow's own login page, which sends it back to the headquarters page;
    the reader then chose English (kept in a cookie)."""
    running, password = server
    context, p = sign_in(browser, running, password)
    p.goto(f"{running.base_url}/ridni-hq/?lang=en")
    yield p
    context.close()


@pytest.fixture(scope="module")
def marts(demo_warehouse):
    """The marts of the last night (and the headline of every night), read with SQL as the page reads them:
    through the hq_analyst login role."""
    engine = db.make_engine(demo_warehouse.reader_url)
    with engine.connect() as conn:
        def read(sql: str, night=demo_warehouse.last) -> pd.DataFrame:
            return pd.read_sql(sa.text(sql), conn, params={"n": night})

        out = {
            "headline": read("SELECT grp, count_value, previous_value, change FROM marts.headline "
                             "WHERE night = :n ORDER BY ord"),
            "history": read("SELECT night, grp, count_value FROM marts.headline ORDER BY night, ord"),
            "counts": read("SELECT category, person_type, region, sex, age_band, count_value, suppressed "
                           "FROM marts.category_counts WHERE night = :n "
                           "ORDER BY category, person_type, region, sex, age_band"),
            "regions": read("SELECT category, region, count_value, suppressed FROM marts.region_category_counts "
                            "WHERE night = :n"),
            "totals": read("SELECT category, count_value, suppressed FROM marts.category_totals WHERE night = :n"),
            "change_log": read("SELECT pseudo_id, from_category, to_category FROM marts.change_log WHERE night = :n"),
            "reconciliation": read("SELECT source_id, category, source_count, warehouse_count, only_in_source, "
                                   "disagreeing FROM marts.reconciliation WHERE night = :n "
                                   "ORDER BY source_id, category"),
            "quality": read("SELECT * FROM marts.source_quality WHERE night = :n ORDER BY source_id"),
            "review": read("SELECT * FROM marts.review_queue_size WHERE night = :n"),
        }
    engine.dispose()
    return out


def rows_of(page, selector: str) -> list[list[str]]:
    """The text of every cell (th and td) of the rows matched by ``selector``, in one round trip."""
    return page.eval_on_selector_all(
        selector, "rows => rows.map(r => Array.from(r.cells).map(c => c.textContent.trim()))")


def number(text: str) -> int:
    """A number as either language prints it: "1,722", "1 722" (no-break space), "+3", "\u221223"."""
    text = text.strip().replace(",", "").replace("\u00a0", "").replace("\u202f", "").replace("+", "")
    return int(text.replace("\u2212", "-"))


def keyed_rows(page, selector: str, key: str) -> dict[str, list[str]]:
    """The text of every cell of the rows matched by ``selector``, by the rows' ``data-<key>``."""
    return {row[0]: row[1:] for row in page.eval_on_selector_all(
        selector, f"rows => rows.map(r => [r.dataset.{key}, ...Array.from(r.cells).map(c => c.textContent.trim())])")}


def _get(url: str, headers: dict | None = None, cookie: str | None = None):
    """(status, headers, body) without following redirects and without any cookie but ``cookie``."""
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    request = urllib.request.Request(url, headers={**(headers or {}), **({"Cookie": cookie} if cookie else {})})
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=10) as r:
            return r.status, dict(r.headers), r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read().decode("utf-8", "replace")


def test_anonymous_requests_get_no_data(server, marts, demo_warehouse):
    running, _ = server
    last = demo_warehouse.last
    figure = f"{int(marts['headline']['count_value'].iloc[0]):,}".replace(",", "")
    for path in ("/ridni-hq/", f"/ridni-hq/?night={last}", f"/ridni-hq/change_log.csv?night={last}",
                 "/ridni-hq/data-docs/index.html"):
        status, headers, body = _get(running.base_url + path, {"Accept": "application/json"})
        assert status == 401, (path, status)
        assert figure not in body and "P-" not in body
        status, headers, body = _get(running.base_url + path, {"Accept": "text/html"})
        assert status in (302, 303, 307), (path, status)
        assert headers["location"].startswith("/auth/login?next="), headers
        assert figure not in body
        status, _, body = _get(running.base_url + path, {"Accept": "application/json"}, cookie="_token=forged.jwt.value")
        assert status in (401, 403), (path, status)
        assert figure not in body


def test_the_warehouse_is_the_demos_nights(demo_warehouse, marts):
    """Two published nights of the demo: a previous night to compare with, a series for the chart."""
    assert len(demo_warehouse.nights) >= 2
    assert sorted(set(marts["history"]["night"])) == list(demo_warehouse.nights)
    assert marts["headline"]["previous_value"].notna().any()
    assert int(marts["headline"]["count_value"].max()) > 100  # a real population, not a handful of rows


def test_page_figures_equal_the_marts(page, marts, demo_warehouse):
    last = demo_warehouse.last
    assert page.locator("h1").inner_text() == f"Situation on {EN.date(last, 'long')}"
    assert "latest night" in page.locator("header").inner_text()

    # headline groups with the change since the previous night, in the reader's words
    shown = keyed_rows(page, "table.headline tbody tr", "group")
    assert list(shown) == list(marts["headline"]["grp"])
    for row in marts["headline"].itertuples(index=False):
        label, tonight, previous, change = shown[row.grp]
        assert label.rstrip("\u26a0") == labels.group(row.grp, EN)
        assert tonight == "<5" if pd.isna(row.count_value) else number(tonight) == row.count_value, row
        if pd.notna(row.previous_value):
            assert number(previous) == row.previous_value, row
        assert change == "\u2014" if pd.isna(row.change) else number(change) == row.change, row

    # persons by region and category: the mart's own table; a suppressed cell is "<5", never a value
    regions = marts["regions"]
    assert regions["suppressed"].any() and regions["count_value"][regions["suppressed"]].isna().all()
    assert (regions["count_value"] >= 5).any()
    categories = page.eval_on_selector_all("table.region-category thead th[data-category]",
                                           "ths => ths.map(t => t.dataset.category)")
    heads = page.locator("table.region-category thead th").all_inner_texts()[1:]
    assert heads == [labels.category(c, EN) for c in categories]  # labels, never code names
    grid = {region: dict(zip(categories, cells[1:], strict=True))
            for region, cells in keyed_rows(page, "table.region-category tbody tr", "region").items()}
    assert set(grid) == set(regions["region"]) | {"(all)"}
    cells = regions.set_index(["region", "category"])
    for region in set(regions["region"]):
        for category in categories:
            text = grid[region][category]
            if (region, category) not in cells.index:
                assert text == "0", (region, category, text)
                continue
            cell = cells.loc[(region, category)]
            assert text == "<5" if cell["suppressed"] else number(text) == cell["count_value"], (region, category)
            assert "+" not in text and "\u00d7" not in text
    for category, text in grid["(all)"].items():
        t = marts["totals"].set_index("category").loc[category]
        assert text == "<5" if t["suppressed"] else number(text) == t["count_value"], category
    # the full breakdown is a download, row by row the mart's
    counts = marts["counts"]
    assert page.locator("table.category-counts").count() == 0
    response = page.request.get(page.url.split("?")[0] + f"counts.csv?night={last}")
    assert response.status == 200
    download = pd.read_csv(io.StringIO(response.text()), dtype=str, keep_default_na=False)
    assert len(download) == len(counts)
    for (_, d), r in zip(download.iterrows(), counts.itertuples(index=False), strict=True):
        assert [d.category, d.person_type, d.region, d.sex, d.age_band] == [r.category, r.person_type, r.region,
                                                                            r.sex, r.age_band]
        assert d["count"] == "<5" if r.suppressed else int(d["count"]) == r.count_value
    xlsx = page.request.get(page.url.split("?")[0] + f"region_counts.xlsx?night={last}")
    assert xlsx.status == 200 and xlsx.body()[:2] == b"PK"

    # the change log: pseudonymous ids only, moves out of missing first
    log = marts["change_log"]
    heading = page.locator("#change-log h2").inner_text()
    assert heading.startswith(f"Change log of the night: {len(log):,} changes"), heading
    ids = page.locator("table.change-log tbody tr td:first-child").all_inner_texts()
    assert sorted(ids) == sorted(log["pseudo_id"])
    out_of_missing = set(log.loc[(log["from_category"] == "missing") & (log["to_category"] != "missing"), "pseudo_id"])
    assert set(ids[:len(out_of_missing)]) == out_of_missing
    assert all(re.fullmatch(r"P-[0-9a-f]+", i) for i in ids)

    # data quality of each source
    status_text = {"loaded": "received, loaded", "unchanged": "received, unchanged", "no drop": "no drop"}
    quality = {source: cells[1:] for source, cells in keyed_rows(page, "table.quality tbody tr", "source").items()}
    assert set(marts["quality"]["source_id"]) <= set(quality)
    for q in marts["quality"].itertuples(index=False):
        status, received, loaded, quarantined, verdict, docs = quality[q.source_id]
        assert status.startswith(status_text[q.drop_status]), (q.source_id, status)
        for text, value in ((received, q.rows_received), (loaded, q.rows_loaded),
                            (quarantined, q.rows_quarantined)):
            assert text == "" if pd.isna(value) else number(text) == value, (q.source_id, text, value)
        if pd.isna(q.validation_success):
            assert verdict == "\u2014"
        else:
            assert verdict == ("passed" if q.validation_success else "failed"), q.source_id
        assert docs == ("Data Docs" if isinstance(q.data_docs_uri, str) and q.data_docs_uri else "\u2014"), q
    assert (marts["quality"]["drop_status"] == "loaded").any()
    assert "normal" in quality["exchange_returns"][0] or quality["exchange_returns"][0].startswith("received")

    # the linkage review queue
    assert number(page.locator("#review-linkage").inner_text()) == marts["review"]["linkage_pairs"].iloc[0]
    assert number(page.locator("#review-conflicts").inner_text()) == marts["review"]["category_conflicts"].iloc[0]

    # the chart rendered: an SVG laid out with a real size, a panel per headline group, a line for each
    # group published on two nights in a row
    chart = page.locator("#chart svg")
    assert chart.count() == 1
    box = chart.bounding_box()
    assert box and box["width"] > 300 and box["height"] > 200
    history = marts["history"].pivot(index="night", columns="grp", values="count_value").sort_index()
    lines = sum(bool((history[g].notna() & history[g].shift().notna()).any()) for g in history.columns)
    assert lines >= 1
    assert chart.locator("path").count() == lines
    for group in marts["headline"]["grp"]:
        label = labels.group(group, EN)
        assert chart.locator("text", has_text=re.compile(f"^{re.escape(label)}$")).count() == 1, group
    # each published night is a point with its value on hover
    hover = chart.locator("circle title").all_text_contents()
    published = marts["history"]["count_value"].notna().sum()
    assert len(hover) == published
    missing = marts["history"][marts["history"]["grp"] == "all missing"].sort_values("night")
    assert hover[:len(missing)] == [f"Missing \u00b7 {EN.short_date(n)}: {EN.number(v)}"
                                    for n, v in zip(missing["night"], missing["count_value"], strict=True)]

    # nothing came from anywhere but this server
    origin = page.evaluate("location.origin")
    loaded = page.evaluate("performance.getEntriesByType('resource').map(e => e.name)")
    assert all(url.startswith(origin) for url in loaded), loaded

    screenshot(page, "hq_page_en.png")


def test_reconciliation_small_counts_are_less_than_five_as_in_the_export(page, marts, demo_warehouse, server):
    """The mart stores the reconciliation's counts from 1 to 4 as NULL; the page shows them as "<5", like
    the export, and every other count as the mart holds it; rows with the largest disagreement first."""
    running, _ = server
    page.goto(f"{running.base_url}/ridni-hq/")
    recon = marts["reconciliation"]
    columns = ["source_count", "warehouse_count", "only_in_source", "disagreeing"]
    assert recon[columns].isna().to_numpy().any(), "the demo's night has suppressed reconciliation counts"
    assert not recon[columns].apply(lambda c: c.between(1, 4)).to_numpy().any()
    shown = page.eval_on_selector_all(
        "table.reconciliation tbody tr",
        "rows => rows.map(r => [r.dataset.source, r.dataset.category, "
        "...Array.from(r.cells).slice(2).map(c => c.textContent.trim())])")
    assert len(shown) == len(recon)
    by_key = {(r.source_id, r.category): r for r in recon.itertuples(index=False)}
    for cells in shown:
        r = by_key[(cells[0], cells[1])]
        for text, column in zip(cells[2:6], columns, strict=True):
            value = getattr(r, column)
            if pd.isna(value):
                assert text == "<5", (r.source_id, r.category, column, text)
            else:
                assert number(text) == value, (r.source_id, r.category, column, text)
    assert not [c for cells in shown for c in cells[2:7] if c in {"1", "2", "3", "4"}]
    disagreeing = [0 if c[5] == "<5" else number(c[5]) for c in shown]
    assert disagreeing == sorted(disagreeing, reverse=True)  # the largest disagreement first
    flagged = [c for c in shown if c[7]]
    assert all(number(c[5]) >= 0.05 * number(c[2]) for c in flagged)
    # the same counts as the night's export
    export = pd.read_csv(demo_warehouse.exports / demo_warehouse.last.isoformat() / "reconciliation.csv",
                         dtype=str, keep_default_na=False)
    assert sorted([c[0], c[1], *(t.replace(",", "") for t in c[2:6])] for c in shown) == \
        sorted(export.to_numpy().tolist())


def test_a_past_night(page, server, demo_warehouse):
    running, _ = server
    first, last = demo_warehouse.nights[0], demo_warehouse.last
    page.goto(f"{running.base_url}/ridni-hq/")
    page.locator("select[name=night]").select_option(first.isoformat())
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(rf".*night={first}.*"))
    assert page.locator("h1").inner_text() == f"Situation on {EN.date(first, 'long')}"
    assert "past night" in page.locator("header").inner_text()
    engine = db.make_engine(demo_warehouse.reader_url)
    with engine.connect() as conn:
        headline = conn.execute(sa.text("SELECT grp, count_value FROM marts.headline WHERE night = :n ORDER BY ord"),
                                {"n": first}).all()
        changes = conn.execute(sa.text("SELECT count(*) FROM marts.change_log WHERE night = :n"), {"n": first}).scalar()
    engine.dispose()
    shown = keyed_rows(page, "table.headline tbody tr", "group")
    assert list(shown) == [grp for grp, _ in headline]
    for (grp, value), row in zip(headline, shown.values(), strict=True):
        assert row[1] == "<5" if value is None else number(row[1]) == value, grp
        assert row[2:] == ["\u2014", "\u2014"], grp  # the first night: no previous night, no change
    heading = page.locator("#change-log h2").inner_text()
    assert heading.startswith(f"Change log of the night: {changes:,} changes"), heading
    if changes > 1000:  # the page lists the first 1,000; the CSV has them all
        assert page.locator("table.change-log tbody tr").count() == 1000
        assert f"Showing the first 1,000 of {changes:,} changes" in page.locator("#change-log").inner_text()
    page.get_by_role("link", name="next night").click()
    assert page.locator("h1").inner_text() == f"Situation on {EN.date(last, 'long')}"


@pytest.mark.parametrize("code", ["uk", "en"])
def test_data_docs_link_opens_the_sources_validation(server, browser, demo_warehouse, marts, code):
    """From a source's Data Docs link to its validation page of the night, in the reader's language, styled
    under the page's policy; from there to the night's index, which lists every source that delivered with
    its mark; and the page's switch opens the same page in the other language."""
    running, password = server
    lang, other = (UK, EN) if code == "uk" else (EN, UK)
    _ = lang.gettext
    last = demo_warehouse.last
    quality = marts["quality"]
    validated = quality.loc[quality["data_docs_uri"].notna()]
    source = validated.loc[validated["drop_status"] == "loaded", "source_id"].iloc[0]
    blocked: list[str] = []

    def policy_notice(msg) -> None:
        if "Content Security Policy" in msg.text:
            blocked.append(msg.text)

    context, page = sign_in(browser, running, password)  # a new reader: Ukrainian
    try:
        page.on("console", policy_notice)
        page.goto(f"{running.base_url}/ridni-hq/?night={last}" + ("&lang=en" if code == "en" else ""))
        page.locator(f'table.quality tr[data-source="{source}"] a', has_text="Data Docs").click()
        page.wait_for_url(re.compile(rf".*/ridni-hq/data-docs/{last}/{source}/[^/]+\.html$"))
        assert page.evaluate("document.documentElement.lang") == code
        label = labels.source(source, lang)
        assert page.title() == _("Validation of %(source)s, %(night)s") % {"source": label, "night": lang.date(last)}
        assert page.locator("h1").inner_text() == _("Validation of %(source)s") % {"source": label}
        assert page.locator(".verdict").inner_text() in (f"\u2713 {_('passed')}", f"\u2717 {_('failed')}")
        facts = dict(zip(page.locator("dt").all_inner_texts(), page.locator("dd").all_inner_texts(), strict=True))
        assert facts[_("Source")] == label and facts[_("Night")] == lang.date(last)
        assert facts[_("Rows")] == lang.number(number(facts[_("Rows")]))  # grouped as the language groups
        assert page.locator("table.expectations tbody tr").count() > 0
        # styled by the server's own stylesheet: the verdict has its coloured badge, the table its header shade
        assert page.eval_on_selector(".verdict", "e => getComputedStyle(e).borderRadius") != "0px"
        assert page.eval_on_selector("th", "e => getComputedStyle(e).backgroundColor") == "rgb(241, 244, 247)"
        assert page.locator("script").count() == 0

        page.get_by_role("link", name=lang.date(last), exact=True).click()
        page.wait_for_url(re.compile(rf".*/ridni-hq/data-docs/{last}/index\.html$"))
        assert page.evaluate("document.documentElement.lang") == code
        listed = page.eval_on_selector_all("table.validations tbody tr", "rows => rows.map(r => "
                                           "[r.dataset.source, ...Array.from(r.cells).map(c => c.textContent.trim())])")
        assert {r[0] for r in listed} == set(validated["source_id"])
        assert all(r[1] == labels.source(r[0], lang) for r in listed), listed
        for source_id, ok in validated[["source_id", "validation_success"]].itertuples(index=False):
            marks = {r[3] for r in listed if r[0] == source_id}
            assert marks == {f"\u2713 {_('passed')}"} if ok else f"\u2717 {_('failed')}" in marks, (source_id, marks)
        screenshot(page, f"data_docs_index_{code}.png")
        page.locator(f'table.validations tr[data-source="{source}"] a').first.click()
        page.wait_for_url(re.compile(rf".*/ridni-hq/data-docs/{last}/{source}/[^/]+\.html$"))
        screenshot(page, f"data_docs_validation_{code}.png")

        # the switch: the same page in the other language, kept for the next page
        here = page.url
        page.get_by_role("link", name=LANGUAGES[other.code]).click()
        page.wait_for_url(re.compile(rf".*lang={other.code}$"))
        assert page.url.split("?")[0] == here and page.evaluate("document.documentElement.lang") == other.code
        assert page.locator("h1").inner_text() == other.gettext("Validation of %(source)s") % {
            "source": labels.source(source, other)}
        page.get_by_role("link", name=other.gettext("All nights")).click()
        page.wait_for_url(re.compile(r".*/ridni-hq/data-docs/index\.html$"))
        assert page.evaluate("document.documentElement.lang") == other.code
        page.remove_listener("console", policy_notice)
        assert not blocked, blocked  # nothing the policy had to block
    finally:
        context.close()


def test_page_in_the_airflow_navigation(page, server, demo_warehouse):
    running, _ = server
    page.goto(f"{running.base_url}/")
    page.get_by_role("link", name=re.compile("Headquarters")).first.click()
    page.wait_for_url(re.compile(r".*/plugin/ridni-hq$"))
    frame = page.frame_locator("iframe")
    assert frame.locator("h1").inner_text() == f"Situation on {EN.date(demo_warehouse.last, 'long')}"


def test_airflow_ui_lists_the_dags_and_the_asset_graph(page, server):
    running, _ = server
    page.goto(f"{running.base_url}/dags")
    for dag_id in ("publish_hq", "resolve_persons", *(f"ingest_{s}" for s in NIGHTLY_SOURCES)):
        page.get_by_text(dag_id, exact=True).first.wait_for()
    page.goto(f"{running.base_url}/assets")
    page.get_by_text("ridni.persons", exact=True).first.click()
    page.wait_for_url(re.compile(r".*/assets/\d+$"))
    page.locator(".react-flow__node", has_text="ridni.exports").first.wait_for()
    nodes = set(page.locator(".react-flow__node").all_inner_texts())
    # each nightly source's drop -> its asset -> resolve_persons -> ridni.persons -> publish_hq -> ridni.exports
    expected = {"resolve_persons", "ridni.persons", "publish_hq", "ridni.exports"}
    expected |= {f"ingest_{s}" for s in NIGHTLY_SOURCES} | {f"ridni.source.{s}" for s in NIGHTLY_SOURCES}
    assert expected <= {n.strip() for n in nodes}, expected - nodes
    page.screenshot(path=str(OUTPUT / "asset_graph.png"))


def test_ukrainian_is_the_default_and_english_a_switch(server, browser, demo_warehouse, marts):
    """A new reader (no cookie) gets Ukrainian, with Babel's numbers; the switch gives English and stays."""
    running, password = server
    last = demo_warehouse.last
    context, page = sign_in(browser, running, password)
    try:
        assert page.evaluate("document.documentElement.lang") == "uk"
        assert page.locator("h1").inner_text() == f"Становище на {UK.date(last, 'long')}"
        shown = keyed_rows(page, "table.headline tbody tr", "group")
        big = marts["headline"].dropna(subset=["count_value"])
        big = big[big["count_value"] >= 1000]
        assert not big.empty, "the demo has a group of a thousand persons or more"
        for row in big.itertuples(index=False):
            assert shown[row.grp][1] == UK.number(int(row.count_value))  # "1 722": a no-break space groups
            assert "\u00a0" in shown[row.grp][1] and "," not in shown[row.grp][1]
        assert shown["all missing"][0].rstrip("\u26a0") == "Зниклі безвісти"
        heads = page.locator("table.region-category thead th").all_inner_texts()
        assert "зниклий безвісти" in heads and not [h for h in heads if "_" in h]
        screenshot(page, "hq_page_uk.png")
        page.get_by_role("link", name="English").click()
        page.wait_for_url(re.compile(r".*lang=en.*"))
        assert page.evaluate("document.documentElement.lang") == "en"
        assert page.locator("h1").inner_text() == f"Situation on {EN.date(last, 'long')}"
        page.goto(f"{running.base_url}/ridni-hq/")  # the choice is kept
        assert page.evaluate("document.documentElement.lang") == "en"
    finally:
        context.close()


@pytest.mark.parametrize("lang", ["uk", "en"])
def test_the_demo_night_at_phone_width(server, browser, lang):
    running, password = server
    context, page = sign_in(browser, running, password, width=390, height=844)
    try:
        page.goto(f"{running.base_url}/ridni-hq/?lang={lang}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        # the headline table fits its own box (no column scrolled out of sight), every section the screen
        assert page.evaluate("(() => { const box = document.querySelector('table.headline').parentElement;"
                             " return box.scrollWidth - box.clientWidth; })()") <= 0
        for section in page.eval_on_selector_all("main > section", "s => s.map(e => e.getBoundingClientRect().right)"):
            assert section <= 390
        for left, right, text in page.eval_on_selector_all(
                "table.headline th, table.headline td",
                "cells => cells.map(c => { const b = c.getBoundingClientRect(); return [b.left, b.right, c.textContent]; })"):
            assert left >= 0 and right <= 390, (text, left, right)
        screenshot(page, f"hq_page_{lang}_390.png", full_page=False)  # a phone's first screen
    finally:
        context.close()
