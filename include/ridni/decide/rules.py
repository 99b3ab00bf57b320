"""The decision tables, kept as data in ``include/ridni/rules/``: read here, nowhere else."""

from __future__ import annotations

import functools
from pathlib import Path

import pandas as pd

RULES_DIR = Path(__file__).resolve().parents[1] / "rules"
CATEGORIES = (
    "missing", "captive_pow", "civilian_detained", "enforced_disappearance", "illegally_convicted",
    "deported_child", "returned", "found_alive", "deceased",
)
HELD = "{held}"  # resolved by person type: captive_pow for servicemembers, civilian_detained otherwise
WITHDRAWN = "{withdrawn}"  # the record withdraws the source's earlier evidence


@functools.cache
def category_map() -> pd.DataFrame:
    table = pd.read_csv(RULES_DIR / "category_map.csv", dtype=str, keep_default_na=False)
    unknown = set(table["category"]) - set(CATEGORIES) - {HELD, WITHDRAWN}
    if unknown:
        raise ValueError(f"category_map.csv names unknown categories: {sorted(unknown)}")
    return table[["source_id", "status", "category"]]


@functools.cache
def source_authority() -> dict[str, int]:
    table = pd.read_csv(RULES_DIR / "source_authority.csv", dtype={"rank": int})
    return dict(zip(table["source_id"], table["rank"], strict=True))


@functools.cache
def decision_rules() -> pd.DataFrame:
    return pd.read_csv(RULES_DIR / "decision_rules.csv").sort_values("order")
