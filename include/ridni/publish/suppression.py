"""Small-count suppression with complementary suppression.

Primary: every count from 1 to threshold-1 is hidden. Complementary: wherever a
published total is the sum of some cells (a "relation"), a relation must not
hide exactly one of its cells, or subtraction would give it back; so a second
cell (the smallest published non-zero one, else a zero) is hidden too.
Repeated until no relation leaks. Totals themselves go through primary
suppression where they are published.
"""

from __future__ import annotations

import pandas as pd


def suppress(cells: pd.DataFrame, relations: list[list[str]], *, value: str = "count_value",
             threshold: int = 5) -> pd.DataFrame:
    """Return ``cells`` with ``suppressed`` (bool) and ``suppression`` ('primary'/'complementary').

    ``relations``: lists of the columns whose margins are published (e.g. ``[["category"]]`` means the
    total per category is published, so within each category the hidden cells must be 0 or >= 2).
    """
    out = cells.copy()
    small = (out[value] > 0) & (out[value] < threshold)
    out["suppressed"] = small
    out["suppression"] = pd.Series(pd.NA, index=out.index, dtype="string")
    out.loc[small, "suppression"] = "primary"
    changed = True
    while changed:
        changed = False
        for keys in relations:
            hidden = out.groupby(keys, dropna=False)["suppressed"].transform("sum")
            lonely = out[(hidden == 1) & ~out["suppressed"]]
            if lonely.empty:
                continue
            # in each leaking group, hide the smallest published non-zero cell, else a zero
            order = lonely.assign(_zero=lonely[value] == 0).sort_values(["_zero", value], kind="stable")
            pick = order.groupby(keys, dropna=False).head(1).index
            out.loc[pick, "suppressed"] = True
            out.loc[pick, "suppression"] = "complementary"
            changed = True
    return out


def leaking_groups(cells: pd.DataFrame, relations: list[list[str]]) -> pd.DataFrame:
    """The groups in which exactly one non-zero cell is hidden: empty when suppression holds."""
    found = []
    for keys in relations:
        counts = cells.groupby(keys, dropna=False)["suppressed"].sum()
        found.append(counts[counts == 1].reset_index().assign(relation="+".join(keys)))
    return pd.concat(found, ignore_index=True) if found else pd.DataFrame()
