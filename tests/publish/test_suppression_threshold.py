"""RIDNI_SUPPRESSION_THRESHOLD is one setting for every published person count: the marts (counts, totals,
headline, reconciliation) and the exports hide counts from 1 to threshold - 1. Tested at 10 on a generated
night run by the night's own steps."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from ridni.config import settings
from ridni.night import run_night
from ridni.publish.marts import build_marts
from ridni.publish.suppression import RECONCILIATION_COUNTS


def _published(engine, night) -> dict[str, pd.Series]:
    """Every person count the marts publish for the night (NULL where suppressed)."""
    with engine.connect() as conn:
        def column(sql: str) -> pd.Series:
            return pd.read_sql(sa.text(sql), conn, params={"n": night}).iloc[:, 0].astype("Int64")

        recon = pd.read_sql(sa.text("SELECT * FROM marts.reconciliation WHERE night = :n"), conn, params={"n": night})
        return {
            "counts": column("SELECT count_value FROM marts.category_counts WHERE night = :n"),
            "totals": column("SELECT count_value FROM marts.category_totals WHERE night = :n"),
            "headline": column("SELECT count_value FROM marts.headline WHERE night = :n"),
            "reconciliation": pd.concat([recon[c] for c in RECONCILIATION_COUNTS], ignore_index=True).astype("Int64"),
        }


def _between(values: pd.Series, lo: int, hi: int) -> int:
    return int(values.dropna().between(lo, hi).sum())


def test_every_published_count_below_ten_is_hidden_at_ten(night_env, fresh_warehouse, monkeypatch):
    _, engine = fresh_warehouse
    synth = night_env(persons=300)
    night = synth.nights[0]
    monkeypatch.setenv("RIDNI_SUPPRESSION_THRESHOLD", "10")
    results = list(run_night(engine, night, with_data_docs=False))
    assert all(r.ok for r in results), [r.line() for r in results]

    at_ten = _published(engine, night)
    for mart, values in at_ten.items():
        assert _between(values, 1, 9) == 0, (mart, values.tolist())
    assert at_ten["counts"].isna().any() and at_ten["reconciliation"].isna().any()

    folder = Path(settings().exports) / night.isoformat()
    counts = pd.read_csv(folder / "counts.csv", dtype=str)["count"]
    recon = pd.read_csv(folder / "reconciliation.csv", dtype=str)[list(RECONCILIATION_COUNTS)].stack()
    for shown in (counts, recon):
        assert (shown == "<10").any() and not shown.isin(["<5", *map(str, range(1, 10))]).any()
    assert "shown as &lt;10" in (folder / "summary.html").read_text()

    # the same night at 5 publishes counts from 5 to 9: the setting is what hid them
    build_marts(engine, night, threshold=5)
    at_five = _published(engine, night)
    assert sum(_between(values, 5, 9) for values in at_five.values()) > 0
    assert sum(_between(values, 1, 4) for values in at_five.values()) == 0


def test_the_nightly_charts_show_the_year_up_to_the_night(fresh_warehouse):
    """The export's chart (and the page's) cover CHART_DAYS nights, so their cost stays the same after years."""
    import datetime as dt

    import sqlalchemy as sa

    from ridni.publish import exports
    from ridni.publish.chart import CHART_DAYS

    _, engine = fresh_warehouse
    last = dt.date(2026, 11, 30)
    nights = [last - dt.timedelta(days=i) for i in range(CHART_DAYS + 40)]
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO marts.headline (night, ord, grp, count_value) VALUES (:n, 1, 'all missing', 7)"),
                     [{"n": n} for n in nights])
    svg = exports._chart(engine, last)
    shown = {n for n in nights if n.isoformat() in svg}
    assert shown == {n for n in nights if n > last - dt.timedelta(days=CHART_DAYS)}, len(shown)
