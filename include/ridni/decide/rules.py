"""The decision tables, kept as data in ``include/ridni/rules/``: read here, nowhere else.

- ``categories.csv``: each category, its situation, and the held kind generic evidence gives each person type.
- ``situations.csv``: the situations, and which one a same-day conflict with no earlier decision prefers.
- ``category_map.csv``: each source status, its situation, and whether it names a category (specific)
  or says only "held" (generic).
- ``source_authority.csv``: the rank of each source when confirmations share a date (1 first).
- ``decision_rules.csv``: the rules, named as the decisions name them.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pandas as pd

RULES_DIR = Path(__file__).resolve().parents[1] / "rules"
HELD = "held"
MISSING = "missing"
WITHDRAWN = "withdrawn"  # the status withdraws the source's earlier evidence (category_map.csv)


def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(RULES_DIR / name, dtype=str, keep_default_na=False)


@functools.cache
def categories() -> pd.DataFrame:
    return _read("categories.csv")[["category", "situation", "held_kind_for"]]


CATEGORIES = tuple(categories()["category"])
SITUATION_OF = dict(zip(categories()["category"], categories()["situation"], strict=True))
HELD_KINDS = tuple(c for c, s in SITUATION_OF.items() if s == HELD)


@functools.cache
def held_kind_for() -> dict[str, str]:
    """person type -> the held kind that generic evidence gives (servicemember: captive_pow, ...)."""
    table = categories()
    table = table[table["held_kind_for"] != ""]
    return dict(zip(table["held_kind_for"], table["category"], strict=True))


@functools.cache
def conflict_preference() -> dict[str, int]:
    """situation -> its preference when confirmations of one date and rank disagree and nothing came before."""
    table = _read("situations.csv")
    table = table[table["conflict_preference"] != ""]
    return dict(zip(table["situation"], table["conflict_preference"].astype(int), strict=True))


@functools.cache
def category_map() -> pd.DataFrame:
    """source_id, status -> situation, generic (says only "held"), category (empty when generic)."""
    table = _read("category_map.csv")
    situations = set(SITUATION_OF.values())
    for row in table.itertuples(index=False):
        where = f"category_map.csv: {row.source_id}/{row.status}"
        if row.situation == WITHDRAWN:
            continue
        if row.situation not in situations:
            raise ValueError(f"{where}: unknown situation {row.situation!r}")
        if row.evidence == "generic":
            if row.situation != HELD or row.category:
                raise ValueError(f"{where}: only 'held' evidence can be generic, and it names no category")
        elif row.evidence != "specific" or SITUATION_OF.get(row.category) != row.situation:
            raise ValueError(f"{where}: specific evidence names a category of its situation")
    table["generic"] = table["evidence"] == "generic"
    return table[["source_id", "status", "situation", "generic", "category"]]


@functools.cache
def source_authority() -> dict[str, int]:
    table = pd.read_csv(RULES_DIR / "source_authority.csv", dtype={"rank": int})
    return dict(zip(table["source_id"], table["rank"], strict=True))


@functools.cache
def decision_rules() -> pd.DataFrame:
    return pd.read_csv(RULES_DIR / "decision_rules.csv").sort_values("order")
