"""The headquarters page's app without a browser or an api-server: reading, rendering, refusing.

The Airflow login dependency is replaced by a fixed user here (the browser test runs the real one).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import html as htmllib
import re
import uuid
import warnings
from collections.abc import Iterator

import pandas as pd
import pytest
import sqlalchemy as sa
from hq_marts import HEADLINE, LAST, NIGHTS

from ridni import db
from ridni.web import data
from ridni.web.app import create_app
from ridni.web.page import region_category_cell, render_page

with warnings.catch_warnings():  # starlette's notice about its httpx-based client
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def _client(url: str) -> TestClient:
    return TestClient(create_app(user_dependency=lambda: "tester", reader=data.Reader(lambda: url)))


@pytest.fixture
def client(hq_warehouse, monkeypatch):
    monkeypatch.setenv("RIDNI_DATA_DOCS", str(hq_warehouse.data_docs))
    with _client(hq_warehouse.reader_url) as c:
        yield c


def test_latest_night_by_default_and_a_chosen_one(client):
    latest = client.get("/")
    assert latest.status_code == 200
    assert f"<h1>Situation on {LAST}</h1>" in latest.text
    past = client.get("/", params={"night": NIGHTS[0].isoformat()})
    assert f"<h1>Situation on {NIGHTS[0]}</h1>" in past.text
    assert f"{HEADLINE['all missing'][0]:,}" in past.text


def test_bad_and_unknown_nights(client):
    assert client.get("/", params={"night": "03.11.2026"}).status_code == 400
    missing = client.get("/", params={"night": "2025-01-01"})
    assert missing.status_code == 404
    assert f"?night={LAST}" in missing.text  # lists the published nights


def test_responses_forbid_external_resources_and_caching(client):
    response = client.get("/")
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'none'" in csp and "frame-ancestors 'self'" in csp
    assert response.headers["cache-control"] == "no-store"
    body = response.text.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "http://" not in body and "https://" not in body and "url(" not in body
    assert "<script" not in response.text


def test_change_log_csv_has_every_change(client, hq_warehouse):
    response = client.get("/change_log.csv", params={"night": LAST.isoformat()})
    assert response.status_code == 200
    assert response.headers["content-disposition"] == f'attachment; filename="change_log_{LAST}.csv"'
    lines = response.text.splitlines()
    assert lines[0].startswith("pseudo_id,change,from_category,to_category")
    assert len(lines) == 1 + 6
    assert lines[1].split(",")[2] == "missing"  # moves out of missing first


def test_data_docs_are_served_from_the_site_only(client):
    assert client.get("/data-docs/index.html").status_code == 200
    for path in ("/data-docs/%2e%2e/%2e%2e/etc/passwd", "/data-docs/..%2f..%2fetc%2fpasswd", "/data-docs/nothing.html"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "root:" not in response.text


def test_refuses_to_read_as_the_writer(hq_warehouse):
    with _client(hq_warehouse.writer_url) as c:  # the database owner on the test server: a superuser
        response = c.get("/")
    assert response.status_code == 503
    assert "can write the warehouse" in response.text
    assert "2,377" not in response.text


@contextlib.contextmanager
def _login_role(server_url: str, prefix: str, groups: str) -> Iterator[str]:
    """A login role in ``groups`` for one test; its sessions ended and the role dropped afterwards."""
    role = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(db.normalise_url(server_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE ROLE {role} LOGIN IN ROLE {groups}"))
    try:
        yield role
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = :r"),
                         {"r": role})
            conn.execute(sa.text(f"DROP ROLE {role}"))
        admin.dispose()


def test_refuses_a_member_of_the_writer_role(hq_warehouse, server_url):
    with _login_role(server_url, "hq_bad", "hq_analyst, ridni_writer") as role:
        url = sa.engine.make_url(hq_warehouse.reader_url).set(username=role, password=None)
        with _client(url.render_as_string(hide_password=False)) as c:
            response = c.get("/")
        assert response.status_code == 503
        assert f"role {role} can write the warehouse" in response.text


def test_reads_through_the_environment_variable_without_the_connection(hq_warehouse, airflow_db, monkeypatch):
    # airflow_db: looking the connection up touches Airflow's metadata DB, which must be migrated first
    monkeypatch.delenv("AIRFLOW_CONN_RIDNI_HQ_READONLY", raising=False)
    monkeypatch.setenv(data.URL_ENV, hq_warehouse.reader_url)
    with TestClient(create_app(user_dependency=lambda: "tester")) as c:
        response = c.get("/")
    assert response.status_code == 200
    assert f"<h1>Situation on {LAST}</h1>" in response.text


def test_refuses_without_configuration(airflow_db, monkeypatch):
    monkeypatch.delenv(data.URL_ENV, raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_RIDNI_HQ_READONLY", raising=False)
    with TestClient(create_app(user_dependency=lambda: "tester")) as c:
        response = c.get("/")
    assert response.status_code == 503
    assert "ridni_hq_readonly" in response.text


def test_the_reader_cannot_read_the_personal_layer_or_write(hq_warehouse):
    engine = data.Reader(lambda: hq_warehouse.reader_url).engine()
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM marts.source_quality")).scalar() > 0
    for sql in ("SELECT count(*) FROM core.source_record", "SELECT count(*) FROM audit.validation",
                "DELETE FROM marts.headline"):
        with engine.connect() as conn, pytest.raises(sa.exc.DBAPIError):
            conn.execute(sa.text(sql))
    engine.dispose()


def test_page_without_the_source_quality_view(make_database, server_url):
    """Before the migration that makes marts.source_quality, the page still shows everything else."""
    url = make_database()
    db.upgrade(url)
    with _login_role(server_url, "hq_old", "hq_analyst") as role:
        owner = db.make_engine(url)
        with owner.begin() as conn:
            conn.execute(sa.text("DROP VIEW IF EXISTS marts.source_quality"))
            conn.execute(sa.text("INSERT INTO marts.headline VALUES ('2026-11-03', 0, 'all missing', 10, NULL, NULL)"))
        owner.dispose()
        with _client(sa.engine.make_url(url).set(username=role).render_as_string(hide_password=False)) as c:
            response = c.get("/")
        assert response.status_code == 200
        assert "marts.source_quality</code> is missing" in response.text


def _view(**text) -> data.NightView:
    evil = text.get("evil", "<script>alert(1)</script>")
    night = dt.date(2026, 11, 3)
    headline = pd.DataFrame({"ord": [0, 1], "grp": [evil, "returned"], "count_value": [pd.NA, 12],
                             "previous_value": [7, 10], "change": [pd.NA, 2]})
    history = pd.DataFrame({"night": [night, night], "ord": [0, 1], "grp": [evil, "returned"],
                            "count_value": [pd.NA, 12]})
    counts = pd.DataFrame({"category": ["missing", "missing"], "person_type": ["civilian", evil],
                           "region": [evil, "UA-14"], "sex": ["F", "M"], "age_band": ["60+", "30-44"],
                           "count_value": [pd.NA, 9], "suppressed": [True, False]})
    totals = pd.DataFrame({"category": ["missing"], "count_value": [pd.NA], "suppressed": [True]})
    log = pd.DataFrame({"pseudo_id": ["P-1"], "change": ["category_change"], "from_category": ["missing"],
                        "to_category": ["captive_pow"], "effective_date": [night], "evidence_source": [evil],
                        "evidence_record": ["R-1"], "rule": [evil]})
    recon = pd.DataFrame({"source_id": [evil], "category": ["missing"], "source_count": [3], "warehouse_count": [3],
                          "only_in_source": [0], "disagreeing": [0]})
    quality = pd.DataFrame({"source_id": [evil], "drop_status": [evil], "rows_received": [1], "rows_loaded": [1],
                            "rows_quarantined": [0], "validation_success": [True], "data_docs_uri": [evil],
                            "late": [False]})
    return data.NightView(night=night, nights=[night], headline=headline, history=history, counts=counts,
                          totals=totals, change_log=log, change_log_total=1, reconciliation=recon, quality=quality,
                          review_queue={"linkage_pairs": 2, "category_conflicts": 0})


def test_every_value_is_escaped():
    evil = '<script>alert(1)</script>"\'&'
    html = render_page(_view(evil=evil), docs_link=lambda s, u, n: None, user="<b>me</b>")
    assert "<script" not in html and "<b>me</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#x27;&amp;" in html
    assert "&lt;b&gt;me&lt;/b&gt;" in html


def test_suppressed_cells_show_less_than_five_never_a_value():
    html = render_page(_view(), docs_link=lambda s, u, n: None)
    assert html.count(">&lt;5<") >= 3  # headline, region cell, detail cell, total
    cells = pd.DataFrame({"count_value": [pd.NA, 10, pd.NA], "suppressed": [True, False, True]})
    assert region_category_cell(cells) == ("10 + 2\u00d7<5", True)
    assert region_category_cell(cells.iloc[[0]]) == ("<5", True)
    assert region_category_cell(cells.iloc[[1]]) == ("10", False)


# Cases the demo's nights do not produce (the browser test reads those): here on the hand-written marts.

def _row(html: str, attribute: str, value: str) -> list[str]:
    """The text of the td cells of the row ``<tr attribute="value">`` (entities decoded)."""
    row = re.search(rf'<tr {attribute}="{re.escape(value)}">(.*?)</tr>', html, re.S)
    assert row, (attribute, value)
    return [htmllib.unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)]


def test_a_headline_group_suppressed_on_one_night_has_no_change(client):
    past = client.get("/", params={"night": NIGHTS[1].isoformat()}).text
    assert _row(past, "data-group", "deported children") == ["<5", "9", "\u2014"]  # suppressed: no value, no change
    last = client.get("/").text
    assert _row(last, "data-group", "deported children") == ["6", "<5", "\u2014"]  # previous suppressed: no change


def test_refused_late_and_absent_sources(client):
    html = client.get("/").text
    assert _row(html, "data-source", "sbu_jc")[1].startswith("received, rejected")
    assert _row(html, "data-source", "ombudsman")[1].startswith("late")
    assert "normal" in _row(html, "data-source", "exchange_returns")[1]
    npu = _row(html, "data-source", "npu_appeals")
    assert npu[1:6] == ["received, loaded", "2,512", "2,498", "14", "failed"]


def test_a_region_made_of_one_suppressed_cell_is_just_less_than_five(client):
    html = client.get("/").text
    table = html.split('class="region-category"')[1].split("</table>")[0]
    cells = _row(table, "data-region", "UA-09")
    assert "<5" in cells and not [c for c in cells if c not in ("0", "<5")], cells


def test_reconciliation_counts_from_one_to_four_are_less_than_five(client, hq_warehouse):
    from hq_marts import RECONCILIATION

    html = client.get("/").text
    body = html.split('class="reconciliation"')[1].split("<tbody>")[1].split("</tbody>")[0]
    shown = [[htmllib.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", tr)]
             for tr in re.findall(r"<tr>(.*?)</tr>", body)]
    expected = [[s, c, *("<5" if 0 < v < 5 else f"{v:,}" for v in values)]
                for s, c, *values in sorted(RECONCILIATION)]
    assert shown == expected
    assert any(0 < v < 5 for row in RECONCILIATION for v in row[2:])
    # the mart itself keeps the exact counts (no schema change); the page's query hides them
    engine = db.make_engine(hq_warehouse.reader_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text(
            "SELECT count(*) FROM marts.reconciliation WHERE night = :n AND disagreeing BETWEEN 1 AND 4"),
            {"n": LAST}).scalar() > 0
    engine.dispose()
