"""The reconciliation's person counts from 1 to 4 are published nowhere as numbers: not in the exports,
not on the headquarters page (whose query does not even read them), and not in the mart itself (built
from a night, it stores NULL); the publishing queries hide them even when a mart row holds one."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pandas as pd
import sqlalchemy as sa

from ridni.publish.exports import publish_night
from ridni.publish.suppression import RECONCILIATION_COUNTS
from ridni.web import data
from ridni.web.page import render_page

NIGHT = dt.date(2026, 11, 3)
# source, category, source_count, warehouse_count, only_in_source, disagreeing: every value from 0 to 6
ROWS = [
    ("npu_appeals", "missing", 6, 5, 4, 3),
    ("npu_appeals", "captive_pow", 0, 1, 2, 0),
    ("mvs_register", "missing", 1, 2, 3, 4),
    ("mvs_register", "returned", 5, 6, 0, 1),
    ("sbu_jc", "illegally_convicted", 12, 11, 1, 1),
]


def _fill(engine) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO marts.headline VALUES (:n, 0, 'all missing', 40, NULL, NULL)"), {"n": NIGHT})
        for row in ROWS:
            conn.execute(sa.text("INSERT INTO marts.reconciliation VALUES (:n, :s, :c, :a, :b, :o, :d)"),
                         dict(zip(["s", "c", "a", "b", "o", "d"], row, strict=True), n=NIGHT))


def _expected(value: int) -> str:
    return "<5" if 0 < value < 5 else str(value)


def test_the_mart_keeps_exact_counts_the_export_shows_less_than_five(fresh_warehouse, tmp_path):
    _, engine = fresh_warehouse
    _fill(engine)
    with engine.connect() as conn:
        stored = conn.execute(sa.text(
            "SELECT source_id, category, source_count, warehouse_count, only_in_source, disagreeing "
            "FROM marts.reconciliation WHERE night = :n"), {"n": NIGHT}).all()
    assert sorted(map(tuple, stored)) == sorted(ROWS)  # rows written by hand: the export must still hide them

    folder = publish_night(engine, NIGHT, tmp_path / "exports")
    export = pd.read_csv(folder / "reconciliation.csv", dtype=str, keep_default_na=False)
    assert list(export.columns) == ["source_id", "category", *RECONCILIATION_COUNTS]
    got = {(r[0], r[1]): list(r[2:]) for r in export.itertuples(index=False)}
    assert got == {(r[0], r[1]): [_expected(v) for v in r[2:]] for r in ROWS}


def test_the_page_never_receives_nor_shows_a_count_from_one_to_four(fresh_warehouse):
    _, engine = fresh_warehouse
    _fill(engine)
    view = data.load_night(engine, NIGHT)
    recon = view.reconciliation.set_index(["source_id", "category"])
    for row in ROWS:
        for column, value in zip(RECONCILIATION_COUNTS, row[2:], strict=True):
            read = recon.loc[(row[0], row[1]), column]
            if 0 < value < 5:
                assert pd.isna(read), (row, column, read)  # the query hides it: it never reaches the page
            else:
                assert read == value, (row, column, read)

    html = render_page(view, docs_link=lambda s, u, n: None)
    section = html.split('<section id="reconciliation">')[1].split("</section>")[0]
    body = section.split("<tbody>")[1].split("</tbody>")[0]
    shown = {}
    for source, category, tr in re.findall(r'<tr data-source="([^"]+)" data-category="([^"]+)"[^>]*>(.*?)</tr>', body):
        cells = [c.replace("&lt;", "<") for c in re.findall(r"<td[^>]*>(.*?)</td>", tr)]
        shown[(source, category)] = cells[2:6]  # after the source's and the category's labels
    assert shown == {(r[0], r[1]): [_expected(v) for v in r[2:]] for r in ROWS}


def test_the_page_hides_a_small_count_even_when_it_reaches_it(fresh_warehouse):
    """Defence in depth: were a count from 1 to 4 read some other way, the page still prints "<5"."""
    _, engine = fresh_warehouse
    _fill(engine)
    view = data.load_night(engine, NIGHT)
    exact = pd.DataFrame(ROWS, columns=["source_id", "category", *RECONCILIATION_COUNTS])
    html = render_page(dataclasses.replace(view, reconciliation=exact), docs_link=lambda s, u, n: None)
    section = html.split('<section id="reconciliation">')[1].split("</section>")[0]
    numbers = re.findall(r'<td class="num[^"]*">([^<]*)</td>', section)
    assert len(numbers) == 5 * len(ROWS)  # the four counts and the disagreement
    assert not [n for n in numbers if n in {"1", "2", "3", "4"}], numbers
    counts = [n for i, n in enumerate(numbers) if i % 5 < 4]
    assert counts.count("&lt;5") == sum(0 < v < 5 for r in ROWS for v in r[2:])


def test_the_mart_itself_stores_no_count_from_one_to_four(night_env, fresh_warehouse):
    """Built from a small generated night (where small counts abound), the mart holds NULL instead."""
    from ridni.decide.run import decide_night
    from ridni.ingest.run import ingest_night
    from ridni.linkage.run import resolve_persons
    from ridni.publish.marts import build_marts

    _, engine = fresh_warehouse
    synth = night_env(persons=300, nights=1)
    night = synth.nights[0]
    list(ingest_night(engine, night))
    resolve_persons(engine, night)
    decide_night(engine, night)
    build_marts(engine, night, threshold=5)
    with engine.connect() as conn:
        cells = pd.read_sql(sa.text("SELECT * FROM marts.reconciliation WHERE night = :n"), conn,
                            params={"n": night})
    values = cells[list(RECONCILIATION_COUNTS)]
    assert not values.isin([1, 2, 3, 4]).any().any()
    assert values.isna().any().any()  # there were small counts, and they were suppressed
    assert (values.fillna(0) >= 5).any().any()
