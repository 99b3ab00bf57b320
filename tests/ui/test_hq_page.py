"""The headquarters page and the operator's view, as a person uses them: in a real browser.

Starts ``airflow api-server`` with the project's plugins against a warehouse with published marts,
then drives Debian's Chromium through Playwright: signs in on Airflow's login page, checks the page's
figures against the marts (through the reader role), a suppressed cell as "<5", the chart, a past
night, a source's Data Docs link, the page inside the Airflow UI's navigation; then the Airflow UI's
DAG list and asset graph with the project's DAGs. Anonymous requests get no data. A screenshot goes to
tests/ui/output/hq_page.png (and to docs/img/hq_page.png with RIDNI_UPDATE_DOCS_SCREENSHOT=1).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import hq_server
import pandas as pd
import pytest
import sqlalchemy as sa
from hq_marts import LAST, NIGHTS, airflow_connection_json

from ridni import db

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
OUTPUT = Path(__file__).resolve().parent / "output"
DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "img" / "hq_page.png"
USER, ROLE = "hq_viewer", "viewer"  # the least Airflow role that may read the page
NIGHTLY_SOURCES = ["children_deported", "coordhq_cases", "icrc_confirmations", "mvs_register", "npu_appeals",
                   "ombudsman", "sbu_jc"]

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason=f"{CHROMIUM} is missing: run bin/install-browser (Debian's chromium)")


@pytest.fixture(scope="module")
def server(hq_warehouse, airflow_db, tmp_path_factory):
    work = tmp_path_factory.mktemp("api-server")
    password = uuid.uuid4().hex
    passwords = work / "passwords.json"
    passwords.write_text(json.dumps({USER: password}))
    env = hq_server.server_env(home=airflow_db, username=USER, role=ROLE, passwords_file=passwords, extra={
        "AIRFLOW_CONN_RIDNI_HQ_READONLY": airflow_connection_json(hq_warehouse.reader_url),
        "RIDNI_DATA_DOCS": str(hq_warehouse.data_docs),
    })
    try:
        running = hq_server.start(env, work)
    except RuntimeError as err:  # a metadata DB file made but never migrated (by an earlier look-up): migrate once
        if "airflow db migrate" not in str(err):
            raise
        subprocess.run([hq_server.AIRFLOW, "db", "migrate"], env=env, check=True, capture_output=True)
        running = hq_server.start(env, work)
    yield running, password
    hq_server.stop(running)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def page(server, browser):
    """A browser page signed in through Airflow's own login page, which sends it back to the headquarters page."""
    running, password = server
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    context.route(re.compile(r"^(?!https?://127\.0\.0\.1[:/]).*"), lambda route: route.abort())  # nothing external
    p = context.new_page()
    p.set_default_timeout(20_000)
    p.goto(f"{running.base_url}/ridni-hq/")
    assert "/auth/login" in p.url, "an anonymous visitor must land on Airflow's login page"
    p.fill("input[name=username]", USER)
    p.fill("input[name=password]", password)
    p.get_by_role("button", name="Sign in").click()
    p.wait_for_url(re.compile(r".*/ridni-hq/.*"))
    yield p
    context.close()


@pytest.fixture(scope="module")
def marts(hq_warehouse):
    """The marts of the last night, read as the page reads them (the hq_analyst login role)."""
    engine = db.make_engine(hq_warehouse.reader_url)
    with engine.connect() as conn:
        def read(sql: str) -> pd.DataFrame:
            return pd.read_sql(sa.text(sql), conn, params={"n": LAST})

        out = {
            "headline": read("SELECT grp, count_value, previous_value, change FROM marts.headline "
                             "WHERE night = :n ORDER BY ord"),
            "counts": read("SELECT region, category, count_value, suppressed FROM marts.category_counts "
                           "WHERE night = :n"),
            "totals": read("SELECT category, count_value, suppressed FROM marts.category_totals WHERE night = :n"),
            "change_log": read("SELECT pseudo_id, from_category, to_category FROM marts.change_log WHERE night = :n"),
            "reconciliation": read("SELECT * FROM marts.reconciliation WHERE night = :n ORDER BY source_id, category"),
            "quality": read("SELECT * FROM marts.source_quality WHERE night = :n"),
            "review": read("SELECT * FROM marts.review_queue_size WHERE night = :n"),
        }
    engine.dispose()
    return out


def number(text: str) -> int:
    return int(text.strip().replace(",", "").replace("+", ""))


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


def test_anonymous_requests_get_no_data(server, marts):
    running, _ = server
    figure = f"{int(marts['headline']['count_value'].iloc[0]):,}"
    for path in ("/ridni-hq/", f"/ridni-hq/?night={LAST}", f"/ridni-hq/change_log.csv?night={LAST}",
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


def test_page_figures_equal_the_marts(page, marts):
    assert page.locator("h1").inner_text() == f"Situation on {LAST}"
    assert "latest night" in page.locator("header").inner_text()

    # headline groups with the change since the previous night
    for row in marts["headline"].itertuples(index=False):
        cells = page.locator(f'table.headline tr[data-group="{row.grp}"] td').all_inner_texts()
        assert len(cells) == 3, row.grp
        if pd.isna(row.count_value):
            assert cells[0] == "<5"
        else:
            assert number(cells[0]) == row.count_value
        if pd.notna(row.previous_value):
            assert number(cells[1]) == row.previous_value
        if pd.notna(row.change):
            assert number(cells[2]) == row.change
        else:
            assert cells[2] == "\u2014"

    # counts by region and category: published cells add up; a suppressed cell is "<5", never a value
    counts = marts["counts"]
    header = page.locator("table.region-category thead th").all_inner_texts()
    categories = header[1:]
    grid = counts.groupby(["region", "category"])
    seen_lonely_suppressed = False
    for (region, category), cells in grid:
        text = page.locator(f'table.region-category tr[data-region="{region}"] td').nth(
            categories.index(category)).inner_text()
        if not cells["suppressed"].any():
            assert number(text) == cells["count_value"].sum(), (region, category)
        else:
            assert "<5" in text, (region, category, text)
            published = int(cells.loc[~cells["suppressed"], "count_value"].sum())
            if published:
                assert number(text.split("+")[0]) == published
            if len(cells) == 1:
                assert text == "<5"
                seen_lonely_suppressed = True
    assert seen_lonely_suppressed, "the fixture has a region x category made of one suppressed cell"
    totals = page.locator('table.region-category tr[data-region="(all)"] td').all_inner_texts()
    for category, text in zip(categories, totals, strict=True):
        t = marts["totals"].set_index("category").loc[category]
        assert text == "<5" if t["suppressed"] else number(text) == t["count_value"], category
    detail = page.locator("table.category-counts tbody tr td:last-child").all_text_contents()
    assert len(detail) == len(counts)
    assert detail.count("<5") == int(counts["suppressed"].sum())

    # the change log: pseudonymous ids only, moves out of missing first
    ids = page.locator("table.change-log tbody tr td:first-child").all_inner_texts()
    log = marts["change_log"]
    assert sorted(ids) == sorted(log["pseudo_id"])
    out_of_missing = set(log.loc[(log["from_category"] == "missing") & (log["to_category"] != "missing"), "pseudo_id"])
    assert set(ids[:len(out_of_missing)]) == out_of_missing
    assert all(re.fullmatch(r"P-[0-9a-f]+", i) for i in ids)

    # reconciliation per source
    rows = page.locator("table.reconciliation tbody tr")
    assert rows.count() == len(marts["reconciliation"])
    for i, r in enumerate(marts["reconciliation"].itertuples(index=False)):
        cells = rows.nth(i).locator("td").all_inner_texts()
        assert cells[:2] == [r.source_id, r.category]
        assert [number(c) for c in cells[2:]] == [r.source_count, r.warehouse_count, r.only_in_source, r.disagreeing]

    # data quality of each source
    quality = marts["quality"].set_index("source_id")
    for source in ("npu_appeals", "coordhq_cases", "mvs_register"):
        cells = page.locator(f'table.quality tr[data-source="{source}"] td').all_inner_texts()
        q = quality.loc[source]
        assert cells[1] == "received, loaded"
        assert [number(c) for c in cells[2:5]] == [q["rows_received"], q["rows_loaded"], q["rows_quarantined"]]
        assert cells[5] == ("passed" if q["validation_success"] else "failed")
        assert cells[6] == "Data Docs"
    assert page.locator('table.quality tr[data-source="sbu_jc"] td').nth(1).inner_text().startswith(
        "received, rejected")
    assert page.locator('table.quality tr[data-source="ombudsman"] td').nth(1).inner_text().startswith("late")
    assert "normal" in page.locator('table.quality tr[data-source="exchange_returns"] td').nth(1).inner_text()

    # the linkage review queue
    assert number(page.locator("#review-linkage").inner_text()) == marts["review"]["linkage_pairs"].iloc[0]
    assert number(page.locator("#review-conflicts").inner_text()) == marts["review"]["category_conflicts"].iloc[0]

    # the chart rendered: an SVG with line paths, laid out with a real size
    chart = page.locator("#chart svg")
    assert chart.count() == 1
    assert chart.locator("path").count() >= 5
    box = chart.bounding_box()
    assert box and box["width"] > 300 and box["height"] > 200
    assert chart.locator("text", has_text="all missing").count() == 1

    # nothing came from anywhere but this server
    origin = page.evaluate("location.origin")
    loaded = page.evaluate("performance.getEntriesByType('resource').map(e => e.name)")
    assert all(url.startswith(origin) for url in loaded), loaded

    OUTPUT.mkdir(exist_ok=True)
    shot = OUTPUT / "hq_page.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    if os.environ.get("RIDNI_UPDATE_DOCS_SCREENSHOT") == "1":
        DOCS_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, DOCS_SCREENSHOT)


def test_a_past_night_and_its_suppressed_headline(page):
    past = NIGHTS[1]
    page.locator("select[name=night]").select_option(past.isoformat())
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(rf".*night={past}.*"))
    assert page.locator("h1").inner_text() == f"Situation on {past}"
    assert "past night" in page.locator("header").inner_text()
    cells = page.locator('table.headline tr[data-group="deported children"] td').all_inner_texts()
    assert cells == ["<5", "9", "\u2014"]  # suppressed tonight: no value, no change
    page.get_by_role("link", name="next night").click()
    assert page.locator("h1").inner_text() == f"Situation on {LAST}"
    cells = page.locator('table.headline tr[data-group="deported children"] td').all_inner_texts()
    assert cells == ["6", "<5", "\u2014"]  # the previous night was suppressed: no change either


def test_data_docs_link_opens_the_sources_validation(page, server):
    running, _ = server
    page.goto(f"{running.base_url}/ridni-hq/?night={LAST}")
    page.locator('table.quality tr[data-source="npu_appeals"] a', has_text="Data Docs").click()
    assert page.locator("h1").inner_text() == f"Validation of npu_appeals on {LAST}"


def test_page_in_the_airflow_navigation(page, server):
    running, _ = server
    page.goto(f"{running.base_url}/")
    page.get_by_role("link", name=re.compile("Headquarters")).first.click()
    page.wait_for_url(re.compile(r".*/plugin/ridni-hq$"))
    frame = page.frame_locator("iframe")
    assert frame.locator("h1").inner_text() == f"Situation on {LAST}"


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
