"""The review page with a queue of 20,000 pairs (the benchmark's first night put 22,021 in the band).

A copy of the demo's first night with 20,000 more pairs between its real records (drawn at random, with
the night's comparison levels and probabilities across the band), so the queue's query joins real
records, persons and categories. The page is read through the app as the api-server serves it (with the
case officer's login dependency replaced): the queue's first and last page, a filtered page, a pair, a
decision. The test checks that every page answers right at that size; the timings (median of five) are a
measurement, not a verdict: they go to tests/ui/output/review_queue_load.json for README's table.
"""

from __future__ import annotations

import json
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from ridni import db
from ridni.review.queue import PER_PAGE, sizes
from ridni.web import data, review
from ridni.web.app import create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

PAIRS = 20_000
OUTPUT = Path(__file__).resolve().parent / "output"


def add_pairs(url: str, n: int, seed: int = 18) -> int:
    """``n`` more undecided pairs between the warehouse's records; returns the size of the queue."""
    engine = db.make_engine(url)
    with engine.begin() as conn:
        records = pd.read_sql(sa.text("SELECT source_id, record_key FROM core.link_record ORDER BY 1, 2"), conn)
        levels = [r[0] for r in conn.execute(sa.text("SELECT DISTINCT comparison::text FROM core.review_pair"))]
        queued = conn.execute(sa.text("SELECT min(first_queued_on) FROM core.review_pair")).scalar()
        rng = np.random.default_rng(seed)
        i, j = rng.integers(0, len(records), (2, n * 2))
        i, j = np.minimum(i, j), np.maximum(i, j)
        keep = pd.DataFrame({"i": i, "j": j})
        keep = keep[keep["i"] < keep["j"]].drop_duplicates().head(n)
        left, right = records.iloc[keep["i"]].reset_index(drop=True), records.iloc[keep["j"]].reset_index(drop=True)
        p = rng.uniform(0.5, 0.9, len(keep))
        pairs = pd.DataFrame({
            "left_source_id": left["source_id"], "left_record_key": left["record_key"],
            "right_source_id": right["source_id"], "right_record_key": right["record_key"],
            "match_probability": p, "match_weight": np.log2(p / (1 - p)),
            "comparison": rng.choice(levels, len(keep)),
            "first_queued_on": [queued - pd.Timedelta(days=int(d)) for d in rng.integers(0, 40, len(keep))],
        }).assign(last_seen_on=queued)
        conn.execute(sa.text(f"CREATE TEMPORARY TABLE pairs_in ON COMMIT DROP AS "  # noqa: S608
                             f"SELECT {', '.join(pairs.columns)} FROM core.review_pair WITH NO DATA"))
        db.copy_frame(conn, "pairs_in", list(pairs.columns), pairs)
        conn.execute(sa.text(f"""
            INSERT INTO core.review_pair ({", ".join(pairs.columns)})
            SELECT {", ".join(pairs.columns)} FROM pairs_in ON CONFLICT DO NOTHING"""))  # noqa: S608
        conn.execute(sa.text("ANALYZE core.review_pair"))
        size = conn.execute(sa.text("SELECT count(*) FROM core.review_pair WHERE decision IS NULL")).scalar()
    engine.dispose()
    return size


def _timed(call, runs: int = 5) -> tuple[float, object]:
    seconds, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = call()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), result


@pytest.fixture(scope="module")
def big_queue(review_warehouse):
    return add_pairs(review_warehouse.url, PAIRS)


def test_the_queue_of_twenty_thousand_pairs_loads_fast(review_warehouse, big_queue):
    assert big_queue >= PAIRS
    desk = data.Reader(lambda: review_warehouse.reviewer_url, check=review.check_reviewer, readonly=False)
    app = create_app(officer_dependency=lambda: "officer", desk=desk)
    with TestClient(app, follow_redirects=False) as client:
        client.get("/review")  # the first request connects and checks the login
        engine = db.make_engine(review_warehouse.url)
        with engine.connect() as conn:
            waiting = sum(sizes(conn).values())  # the pairs and the demo night's category conflicts
        engine.dispose()
        last = -(-waiting // PER_PAGE)
        timings = {}
        for name, path, params in (("queue, first page", "/review", {}),
                                   ("queue, last page", "/review", {"page": last}),
                                   ("queue, one source", "/review", {"source": "npu_appeals"}),
                                   ("queue, in it 30 nights or more", "/review", {"min_nights": 30})):
            timings[name], response = _timed(lambda p=path, q=params: client.get(p, params=q))
            assert response.status_code == 200, name
        assert f"(до рішення: {waiting:,})".replace(",", "\u00a0") in client.get("/review").text
        last_page = client.get("/review", params={"page": last}).text
        assert last_page.count("<tr data-pair=") + last_page.count("<tr data-conflict=") == waiting - (last - 1) * PER_PAGE
        head = client.get("/review/next").headers["location"]
        timings["a pair side by side"], response = _timed(lambda: client.get(head))
        assert response.status_code == 200
        version = response.text.split('name="version" value="')[1].split('"')[0]
        start = time.perf_counter()
        decided = client.post(head, data={"decision": "not_sure", "version": version})
        timings["a decision, then the next pair's address"] = time.perf_counter() - start
        assert decided.status_code == 303
    OUTPUT.mkdir(exist_ok=True)
    (OUTPUT / "review_queue_load.json").write_text(json.dumps(
        {"pairs": big_queue, "seconds": {k: round(v, 3) for k, v in timings.items()}}, indent=2))
    print(json.dumps(timings, indent=2))
