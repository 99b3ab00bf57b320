"""Helpers for running a scalar standardisation rule over a whole pandas column.

Names, regions and dates repeat a lot across a million records, so the rule runs once per
distinct value and the result is spread back with `take`: the scalar function stays the one
source of truth and the column form cannot drift from it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd


def is_missing(value: Any) -> bool:
    """True for None, NaN, NaT, pd.NA and blank strings."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def map_unique(values: pd.Series, func: Callable[[Any], Any]) -> pd.Series:
    """`values.map(func)` computed once per distinct non-missing value; missing -> None (object dtype)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    mapped = np.empty(len(uniques) + 1, dtype=object)
    mapped[:-1] = [func(u) for u in np.asarray(uniques, dtype=object)]
    mapped[-1] = None
    return pd.Series(mapped.take(codes), index=values.index, dtype=object)  # code -1 -> the last slot
