"""Small-count suppression with complementary suppression.

Primary: every count from 1 to threshold-1 is hidden. Complementary: wherever a
published total is the sum of some cells (a "relation"), a relation must not
hide exactly one of its cells, or subtraction would give it back; so a second
cell (the smallest published non-zero one, else a zero) is hidden too.
Repeated until no relation leaks. Totals themselves go through primary
suppression where they are published. Two tables of the same persons at two
levels of detail are suppressed together (:func:`suppress_linked`), so that
one cannot be subtracted from the other.
"""

from __future__ import annotations

import pandas as pd

from ridni.config import settings


def suppress(cells: pd.DataFrame, relations: list[list[str]], *, value: str = "count_value",
             threshold: int | None = None) -> pd.DataFrame:
    """Return ``cells`` with ``suppressed`` (bool) and ``suppression`` ('primary'/'complementary').

    ``threshold``: the smallest count published (default: ``RIDNI_SUPPRESSION_THRESHOLD``).

    ``relations``: lists of the columns whose margins are published (e.g. ``[["category"]]`` means the
    total per category is published, so within each category the hidden cells must be 0 or >= 2).
    """
    threshold = configured_threshold() if threshold is None else threshold
    out = _primary(cells, value, threshold)
    while _complement(out, relations, value):
        pass
    return out


def _primary(cells: pd.DataFrame, value: str, threshold: int) -> pd.DataFrame:
    out = cells.copy()
    small = (out[value] > 0) & (out[value] < threshold)
    out["suppressed"] = small
    out["suppression"] = pd.Series(pd.NA, index=out.index, dtype="string")
    out.loc[small, "suppression"] = "primary"
    return out


def _hide_smallest(out: pd.DataFrame, candidates: pd.DataFrame, keys: list[str], value: str) -> None:
    """In each group of ``candidates`` (by ``keys``), hide the smallest published non-zero cell, else a zero."""
    order = candidates.assign(_zero=candidates[value] == 0).sort_values(["_zero", value], kind="stable")
    pick = order.groupby(keys, dropna=False).head(1).index
    out.loc[pick, "suppressed"] = True
    out.loc[pick, "suppression"] = "complementary"


def _complement(out: pd.DataFrame, relations: list[list[str]], value: str) -> bool:
    """One pass of complementary suppression over ``relations`` (in place); whether it hid anything."""
    changed = False
    for keys in relations:
        hidden = out.groupby(keys, dropna=False)["suppressed"].transform("sum")
        lonely = out[(hidden == 1) & ~out["suppressed"]]
        if lonely.empty:
            continue
        _hide_smallest(out, lonely, keys, value)
        changed = True
    return changed


def suppress_linked(fine: pd.DataFrame, coarse: pd.DataFrame, *, link: list[str], fine_relations: list[list[str]],
                    coarse_relations: list[list[str]], value: str = "count_value",
                    threshold: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Suppress two published tables of the same persons together: ``coarse`` is ``fine`` added up by ``link``
    (region x category from category x person type x region x sex x age band).

    Each table gets primary and complementary suppression over its own relations; and, linking them:

    - every published ``coarse`` cell is a margin of ``fine``: within it, the hidden fine cells are 0 or >= 2
      (the relation ``link`` in ``fine``), so subtracting the published fine cells gives no fine cell back;
    - every hidden non-zero ``coarse`` cell keeps at least one hidden non-zero fine cell (then two, by the
      previous rule), so adding up the published fine cells gives no coarse cell back.

    Repeated until neither table changes.
    """
    threshold = configured_threshold() if threshold is None else threshold
    fine_out, coarse_out = _primary(fine, value, threshold), _primary(coarse, value, threshold)
    changed = True
    while changed:
        changed = _complement(fine_out, [*fine_relations, link], value)
        changed |= _complement(coarse_out, coarse_relations, value)
        fine_keys = pd.MultiIndex.from_frame(fine_out[link])
        coarse_keys = pd.MultiIndex.from_frame(coarse_out[link])
        fine_nonzero = (fine_out[value] > 0).to_numpy()
        covered = fine_keys[fine_out["suppressed"].to_numpy() & fine_nonzero]
        exposed = coarse_out["suppressed"].to_numpy() & (coarse_out[value] > 0).to_numpy() & ~coarse_keys.isin(covered)
        if exposed.any():
            candidates = fine_out[fine_keys.isin(coarse_keys[exposed]) & ~fine_out["suppressed"].to_numpy()
                                  & fine_nonzero]
            _hide_smallest(fine_out, candidates, link, value)
            changed = True
    return fine_out, coarse_out


def leaking_groups(cells: pd.DataFrame, relations: list[list[str]]) -> pd.DataFrame:
    """The groups in which exactly one non-zero cell is hidden: empty when suppression holds."""
    found = []
    for keys in relations:
        counts = cells.groupby(keys, dropna=False)["suppressed"].sum()
        found.append(counts[counts == 1].reset_index().assign(relation="+".join(keys)))
    return pd.concat(found, ignore_index=True) if found else pd.DataFrame()


# The reconciliation's person counts. The mart holds a count from 1 to threshold - 1 as NULL; every
# surface that publishes them (the exports, the headquarters page) reads them through
# :func:`published_reconciliation_sql`, which hides such counts again, so they never leave the database.
RECONCILIATION_COUNTS = ("source_count", "warehouse_count", "only_in_source", "disagreeing")


def configured_threshold() -> int:
    """The smallest person count that is published (``RIDNI_SUPPRESSION_THRESHOLD``, default 5)."""
    return settings().suppression_threshold


def suppressed_text(at: int | None = None) -> str:
    """What the page and the exports print for a hidden count: "<5" at the default threshold."""
    return f"<{configured_threshold() if at is None else at}"


def is_small(value, at: int | None = None) -> bool:
    """A person count that must not be published: from 1 to the threshold - 1."""
    at = configured_threshold() if at is None else at
    try:
        return value is not None and not pd.isna(value) and 0 < int(value) < at
    except (TypeError, ValueError):
        return False


def published_reconciliation_sql(*, as_text: bool = False, at: int | None = None) -> str:
    """The night's (``:n``) reconciliation as published: a count from 1 to the threshold - 1 is NULL, or the
    text "<threshold" with ``as_text`` (then every count is text), ordered by source and category."""
    at = int(configured_threshold() if at is None else at)

    def count(column: str) -> str:
        hidden = f"CASE WHEN {column} > 0 AND {column} < {at} THEN NULL ELSE {column} END"
        return f"COALESCE(({hidden})::text, '{suppressed_text(at)}') AS {column}" if as_text else f"{hidden} AS {column}"

    columns = ", ".join(count(c) for c in RECONCILIATION_COUNTS)
    return (f"SELECT source_id, category, {columns} FROM marts.reconciliation "  # noqa: S608 (constant names only)
            "WHERE night = :n ORDER BY source_id, category")
