"""The headquarters page and the operator's view, as a person uses them: in a real browser.

Starts ``airflow api-server`` with the project's plugins against a warehouse filled by the demo's nights
(generated extracts through the pipeline, ``hq_demo.py``), then drives Debian's Chromium through
Playwright: signs in on Airflow's login page, checks that every figure on the page equals the marts
(read with SQL through the reader role), that suppressed cells show "<5" and never a value (the
reconciliation's small counts too, as in its export), that the chart rendered, a past night, a source's
Data Docs page, the page inside the Airflow UI's navigation; then the Airflow UI's DAG list and asset
graph with the project's DAGs. Anonymous requests get no data. A screenshot goes to
tests/ui/output/hq_page.png (and to docs/img/hq_page.png with RIDNI_UPDATE_DOCS_SCREENSHOT=1).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import hq_server
import pandas as pd
import pytest
import sqlalchemy as sa
from hq_server import CHROMIUM, airflow_connection_json

from ridni import db
from ridni.web.page import region_label

OUTPUT = Path(__file__).resolve().parent / "output"
DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "img" / "hq_page.png"
USER, ROLE = "hq_viewer", "viewer"  # the least Airflow role that may read the page
NIGHTLY_SOURCES = ["children_deported", "coordhq_cases", "icrc_confirmations", "mvs_register", "npu_appeals",
                   "ombudsman", "sbu_jc"]

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason=f"{CHROMIUM} is missing: run bin/install-browser (Debian's chromium)")


@pytest.fixture(scope="module")
def server(demo_warehouse, airflow_db, tmp_path_factory):
    work = tmp_path_factory.mktemp("api-server")
    password = uuid.uuid4().hex
    passwords = work / "passwords.json"
    passwords.write_text(json.dumps({USER: password}))
    env = hq_server.server_env(home=airflow_db, username=USER, role=ROLE, passwords_file=passwords, extra={
        "AIRFLOW_CONN_RIDNI_HQ_READONLY": airflow_connection_json(demo_warehouse.reader_url),
        "RIDNI_DATA_DOCS": str(demo_warehouse.data_docs),
    })
    running = hq_server.start_migrated(env, work)
    yield running, password
    hq_server.stop(running)


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


def test_anonymous_requests_get_no_data(server, marts, demo_warehouse):
    running, _ = server
    last = demo_warehouse.last
    figure = f"{int(marts['headline']['count_value'].iloc[0]):,}"
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
    assert page.locator("h1").inner_text() == f"Situation on {last}"
    assert "latest night" in page.locator("header").inner_text()

    # headline groups with the change since the previous night
    shown = {row[0]: row[1:] for row in rows_of(page, "table.headline tbody tr")}
    assert list(shown) == list(marts["headline"]["grp"])
    for row in marts["headline"].itertuples(index=False):
        tonight, previous, change = shown[row.grp]
        assert tonight == "<5" if pd.isna(row.count_value) else number(tonight) == row.count_value, row
        if pd.notna(row.previous_value):
            assert number(previous) == row.previous_value, row
        assert change == "\u2014" if pd.isna(row.change) else number(change) == row.change, row

    # counts by region and category: published cells add up; a suppressed cell is "<5", never a value
    counts = marts["counts"]
    assert counts["suppressed"].any() and counts["count_value"][counts["suppressed"]].isna().all()
    categories = page.locator("table.region-category thead th").all_inner_texts()[1:]
    grid = {}
    for row in page.eval_on_selector_all(
            "table.region-category tbody tr",
            "rows => rows.map(r => [r.dataset.region, ...Array.from(r.querySelectorAll('td'))"
            ".map(c => c.textContent.trim())])"):
        grid[row[0]] = dict(zip(categories, row[1:], strict=True))
    regions = set(counts["region"])
    assert set(grid) == regions | {"(all)"}
    by_cell = {key: cells for key, cells in counts.groupby(["region", "category"])}
    shown_suppressed = 0
    for region in regions:
        for category in categories:
            text = grid[region][category]
            cells = by_cell.get((region, category))
            if cells is None:
                assert text == "0", (region, category, text)
                continue
            published = int(cells.loc[~cells["suppressed"], "count_value"].sum())
            hidden = int(cells["suppressed"].sum())
            if not hidden:
                assert number(text) == published, (region, category, text)
                continue
            shown_suppressed += 1
            # only the published cells are added up; each hidden one is "<5" in the text, never a number
            expected = "<5" if hidden == 1 else f"{hidden}\u00d7<5"
            assert text == (f"{published:,} + {expected}" if published else expected), (region, category, text)
    assert shown_suppressed, "the demo's night has region x category cells with suppressed counts"
    for category, text in grid["(all)"].items():
        t = marts["totals"].set_index("category").loc[category]
        assert text == "<5" if t["suppressed"] else number(text) == t["count_value"], category
    # the full breakdown, row by row in the mart's order
    detail = rows_of(page, "table.category-counts tbody tr")
    assert len(detail) == len(counts)
    for cells, r in zip(detail, counts.itertuples(index=False), strict=True):
        assert cells[:5] == [r.category, r.person_type, region_label(r.region), r.sex, r.age_band]
        assert cells[5] == "<5" if r.suppressed else number(cells[5]) == r.count_value, (cells, r)

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
    quality = {row[0]: row[1:] for row in rows_of(page, "table.quality tbody tr")}
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
        assert chart.locator("text", has_text=re.compile(f"^{re.escape(group)}$")).count() == 1, group

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


def test_reconciliation_small_counts_are_less_than_five_as_in_the_export(page, marts, demo_warehouse, server):
    """The mart stores the reconciliation's counts from 1 to 4 as NULL; the page shows them as "<5", like
    the export, and every other count as the mart holds it."""
    running, _ = server
    page.goto(f"{running.base_url}/ridni-hq/")
    recon = marts["reconciliation"]
    columns = ["source_count", "warehouse_count", "only_in_source", "disagreeing"]
    assert recon[columns].isna().to_numpy().any(), "the demo's night has suppressed reconciliation counts"
    assert not recon[columns].apply(lambda c: c.between(1, 4)).to_numpy().any()
    shown = rows_of(page, "table.reconciliation tbody tr")
    assert len(shown) == len(recon)
    for cells, r in zip(shown, recon.itertuples(index=False), strict=True):
        assert cells[:2] == [r.source_id, r.category]
        for text, column in zip(cells[2:], columns, strict=True):
            value = getattr(r, column)
            if pd.isna(value):
                assert text == "<5", (r.source_id, r.category, column, text)
            else:
                assert number(text) == value, (r.source_id, r.category, column, text)
    assert not [c for cells in shown for c in cells[2:] if c in {"1", "2", "3", "4"}]
    # the same text as the night's export
    export = pd.read_csv(demo_warehouse.exports / demo_warehouse.last.isoformat() / "reconciliation.csv",
                         dtype=str, keep_default_na=False)
    assert [[c.replace(",", "") for c in cells] for cells in shown] == export.to_numpy().tolist()


def test_a_past_night(page, server, demo_warehouse):
    running, _ = server
    first, last = demo_warehouse.nights[0], demo_warehouse.last
    page.goto(f"{running.base_url}/ridni-hq/")
    page.locator("select[name=night]").select_option(first.isoformat())
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(rf".*night={first}.*"))
    assert page.locator("h1").inner_text() == f"Situation on {first}"
    assert "past night" in page.locator("header").inner_text()
    engine = db.make_engine(demo_warehouse.reader_url)
    with engine.connect() as conn:
        headline = conn.execute(sa.text("SELECT grp, count_value FROM marts.headline WHERE night = :n ORDER BY ord"),
                                {"n": first}).all()
        changes = conn.execute(sa.text("SELECT count(*) FROM marts.change_log WHERE night = :n"), {"n": first}).scalar()
    engine.dispose()
    shown = rows_of(page, "table.headline tbody tr")
    assert [row[0] for row in shown] == [grp for grp, _ in headline]
    for (grp, value), row in zip(headline, shown, strict=True):
        assert row[1] == "<5" if value is None else number(row[1]) == value, grp
        assert row[2:] == ["\u2014", "\u2014"], grp  # the first night: no previous night, no change
    heading = page.locator("#change-log h2").inner_text()
    assert heading.startswith(f"Change log of the night: {changes:,} changes"), heading
    if changes > 1000:  # the page lists the first 1,000; the CSV has them all
        assert page.locator("table.change-log tbody tr").count() == 1000
        assert f"Showing the first 1,000 of {changes:,} changes" in page.locator("#change-log").inner_text()
    page.get_by_role("link", name="next night").click()
    assert page.locator("h1").inner_text() == f"Situation on {last}"


def test_data_docs_link_opens_the_sources_validation(page, server, demo_warehouse, marts):
    """From a source's Data Docs link to its validation page of the night, styled under the page's policy,
    and from there to the night's index, which lists every source that delivered with its mark."""
    running, _ = server
    last = demo_warehouse.last
    quality = marts["quality"]
    validated = quality.loc[quality["data_docs_uri"].notna()]
    source = validated.loc[validated["drop_status"] == "loaded", "source_id"].iloc[0]
    blocked: list[str] = []

    def policy_notice(msg) -> None:
        if "Content Security Policy" in msg.text:
            blocked.append(msg.text)

    page.on("console", policy_notice)
    page.goto(f"{running.base_url}/ridni-hq/?night={last}")
    page.locator(f'table.quality tr[data-source="{source}"] a', has_text="Data Docs").click()
    page.wait_for_url(re.compile(rf".*/ridni-hq/data-docs/{last}/{source}/[^/]+\.html$"))
    assert page.title() == f"Validation of {source} {last}"
    assert page.locator(".verdict").inner_text() in ("\u2713 passed", "\u2717 failed")
    assert page.locator("table.expectations tbody tr").count() > 0
    # styled by the server's own stylesheet: the verdict has its coloured badge, the table its header shade
    assert page.eval_on_selector(".verdict", "e => getComputedStyle(e).borderRadius") != "0px"
    assert page.eval_on_selector("th", "e => getComputedStyle(e).backgroundColor") == "rgb(241, 244, 247)"
    assert page.locator("script").count() == 0

    page.get_by_role("link", name=last.isoformat()).click()
    page.wait_for_url(re.compile(rf".*/ridni-hq/data-docs/{last}/index\.html$"))
    listed = rows_of(page, "table.validations tbody tr")
    assert {r[0] for r in listed} == set(validated["source_id"])
    for source_id, ok in validated[["source_id", "validation_success"]].itertuples(index=False):
        marks = {r[2] for r in listed if r[0] == source_id}
        assert marks == {"\u2713 passed"} if ok else "\u2717 failed" in marks, (source_id, marks)
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / "data_docs_index.png"), full_page=True)
    page.locator(f'table.validations tr[data-source="{source}"] a').first.click()
    page.wait_for_url(re.compile(rf".*/ridni-hq/data-docs/{last}/{source}/[^/]+\.html$"))
    page.screenshot(path=str(OUTPUT / "data_docs_validation.png"), full_page=True)
    page.remove_listener("console", policy_notice)
    assert not blocked, blocked  # nothing the policy had to block


def test_page_in_the_airflow_navigation(page, server, demo_warehouse):
    running, _ = server
    page.goto(f"{running.base_url}/")
    page.get_by_role("link", name=re.compile("Headquarters")).first.click()
    page.wait_for_url(re.compile(r".*/plugin/ridni-hq$"))
    frame = page.frame_locator("iframe")
    assert frame.locator("h1").inner_text() == f"Situation on {demo_warehouse.last}"


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
