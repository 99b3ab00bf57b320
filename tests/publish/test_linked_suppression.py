"""Region x category and the finer breakdown are published side by side: neither may give back what the other
hides. The attacks: subtraction (a published total minus the published cells of a relation, in either table
and across them), then the strongest linear one, an intruder who solves for each hidden cell from everything
published (both tables and the category totals, as linear constraints on non-negative counts)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog

from ridni.publish.suppression import suppress, suppress_linked

LINK = ["category", "region"]
FINE_RELATIONS = [["category"], ["category", "person_type"]]
COARSE_RELATIONS = [["category"]]


def _fine(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = [{"category": c, "person_type": t, "region": r, "sex": s,
             "count_value": int(rng.choice([0, 0, 1, 2, 3, 4, 6, 9, 15, 40]))}
            for c, t, r, s in itertools.product(["missing", "captive_pow"], ["military", "civilian"],
                                                ["UA-14", "UA-09", "UA-23"], ["M", "F"])]
    return pd.DataFrame(rows)


def _coarse(fine: pd.DataFrame) -> pd.DataFrame:
    return fine.groupby(LINK)["count_value"].sum().reset_index()


def _linked(seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    fine = _fine(seed)
    return suppress_linked(fine, _coarse(fine), link=LINK, fine_relations=FINE_RELATIONS,
                           coarse_relations=COARSE_RELATIONS, threshold=5)


def test_each_table_hides_its_own_small_counts():
    for seed in range(10):
        fine, coarse = _linked(seed)
        for table in (fine, coarse):
            small = table[(table.count_value > 0) & (table.count_value < 5)]
            assert small.suppressed.all()
            assert (table.loc[table.suppressed, "suppression"].isin(["primary", "complementary"])).all()
        # region x category is coarser: it publishes cells the finer breakdown had to hide
        assert (coarse.count_value >= 5).sum() >= 1


def test_subtraction_across_the_two_tables_gives_nothing_back():
    recovered_without_link = 0
    for seed in range(40):
        fine, coarse = _linked(seed)
        totals = coarse.groupby("category")["count_value"].sum()
        for (category, region), cells in fine.groupby(LINK):
            cell = coarse[(coarse.category == category) & (coarse.region == region)].iloc[0]
            hidden = cells[cells.suppressed]
            if not cell.suppressed:  # published region cell minus its published fine cells
                assert len(hidden) != 1, (seed, category, region)
            elif cell.count_value > 0:  # hidden region cell: its fine cells must not add up to it
                assert (hidden.count_value > 0).any(), (seed, category, region)
        for category, cells in coarse.groupby("category"):  # category total minus published region cells
            assert cells.suppressed.sum() != 1, (seed, category, totals[category])
        # the same cells suppressed each table on its own: the region table leaks through the finer one
        alone_fine = suppress(_fine(seed), FINE_RELATIONS, threshold=5)
        alone_coarse = suppress(_coarse(_fine(seed)), COARSE_RELATIONS, threshold=5)
        for (category, region), cells in alone_fine.groupby(LINK):
            cell = alone_coarse[(alone_coarse.category == category) & (alone_coarse.region == region)].iloc[0]
            hidden = cells[cells.suppressed]
            if (not cell.suppressed and len(hidden) == 1) or (
                    cell.suppressed and cell.count_value > 0 and not (hidden.count_value > 0).any()):
                recovered_without_link += 1
    assert recovered_without_link, "the attack finds cells when the tables are suppressed apart"


def _bounds(fine: pd.DataFrame, coarse: pd.DataFrame) -> list[tuple[str, int, float, float]]:
    """For every hidden non-zero cell of either table: the least and greatest value an intruder can give it,
    knowing every published cell of both tables and the category totals."""
    n = len(fine)
    equalities, rhs = [], []
    for i, row in fine.iterrows():  # published fine cells are known
        if not row.suppressed:
            a = np.zeros(n)
            a[i] = 1
            equalities.append(a)
            rhs.append(row.count_value)
    for _, row in coarse.iterrows():  # published region cells are sums of fine cells
        if not row.suppressed:
            equalities.append(((fine.category == row.category) & (fine.region == row.region)).to_numpy(float))
            rhs.append(row.count_value)
    for category, total in fine.groupby("category")["count_value"].sum().items():
        equalities.append((fine.category == category).to_numpy(float))
        rhs.append(total)
    targets = [("fine", np.eye(n)[i], v) for i, v in fine.loc[fine.suppressed, "count_value"].items() if v > 0]
    targets += [("region", ((fine.category == r.category) & (fine.region == r.region)).to_numpy(float), r.count_value)
                for r in coarse[coarse.suppressed & (coarse.count_value > 0)].itertuples()]
    out = []
    for table, objective, value in targets:
        low = linprog(objective, A_eq=np.array(equalities), b_eq=rhs, bounds=(0, None)).fun
        high = -linprog(-objective, A_eq=np.array(equalities), b_eq=rhs, bounds=(0, None)).fun
        out.append((table, value, low, high))
    return out


@pytest.mark.parametrize("seed", range(8))
def test_no_hidden_cell_is_pinned_down_by_everything_published(seed):
    fine, coarse = _linked(seed)
    bounds = _bounds(fine, coarse)
    assert bounds, "the night has hidden cells"
    for table, value, low, high in bounds:
        assert low <= value <= high
        assert high - low >= 1 - 1e-6, (seed, table, value, low, high)  # never a single possible value
